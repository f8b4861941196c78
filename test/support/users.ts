/**
 * Fresh users per test, so events of one test never satisfy another's waits: each call numbers a new batch,
 * `users('alice', 'bob')` → `['sip:alice3@contoso.com', 'sip:bob3@contoso.com']`. The count is per test file
 * (Jest loads this module once per file).
 */
let batch = 0;

export function users(...names: string[]): string[] {
  batch += 1;
  return names.map((name) => `sip:${name}${batch}@contoso.com`);
}

/** The number of the last batch `users()` made: for other names a test wants unique too (a category, a guest). */
export function userBatch(): number {
  return batch;
}

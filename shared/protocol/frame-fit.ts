import { MAX_SERVER_FRAME_BYTES } from './limits';

/**
 * What the response envelope adds around a body, at most: `{"type":"response","rid":…,"status":200,"body":…}` with a
 * 128-character `rid` whose every character JSON escapes to 6 bytes (817 bytes), rounded up.
 */
export const RESPONSE_ENVELOPE_RESERVE_BYTES = 1024;
/** Room for the `cursor` (at most 1,024 characters, base64url: no escaping) and a `"more":true` beside a list. */
export const CURSOR_RESERVE_BYTES = 1100;
/** The largest body of a list answer measured without its cursor: with the envelope and the cursor, one 128 KB frame. */
export const MAX_LIST_ANSWER_BYTES = MAX_SERVER_FRAME_BYTES - RESPONSE_ENVELOPE_RESERVE_BYTES - CURSOR_RESERVE_BYTES;

/** How many of a page's items (a prefix) its answer holds; what a store is given to cut a page and set its cursor. */
export type PageFit<T> = (items: readonly T[]) => number;

/** The bytes a value takes on the wire: its JSON as JSON.stringify writes it (escapes included), in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/**
 * The longest prefix of `items` whose answer, `answerOf(prefix)`, is at most `budget` bytes of JSON (issue 17 item 2:
 * every list answer is cut by size as well as by count). One item that cannot fit alone is a bug in the schema caps,
 * not something to answer empty with a cursor that would never move: it throws.
 */
export function countThatFits<T>(items: readonly T[], answerOf: (kept: readonly T[]) => unknown, budget = MAX_LIST_ANSWER_BYTES): number {
  const fits = prefixThatFits(items, answerOf, budget);
  if (fits === 0 && items.length > 0) {
    throw new Error(`one item of a list answer is over ${budget} bytes: a schema cap lets through more than one frame holds`);
  }
  return fits;
}

/** The same, for a caller that has something else to do when not even one item fits (0). */
export function prefixThatFits<T>(items: readonly T[], answerOf: (kept: readonly T[]) => unknown, budget = MAX_LIST_ANSWER_BYTES): number {
  if (jsonBytes(answerOf(items)) <= budget) return items.length;
  // The answer grows with every item kept: binary search for the last count that fits.
  let fits = 0;
  let over = items.length;
  while (over - fits > 1) {
    const middle = Math.floor((fits + over) / 2);
    if (jsonBytes(answerOf(items.slice(0, middle))) <= budget) fits = middle;
    else over = middle;
  }
  return fits;
}

/** A PageFit for a list answered under `key` beside nothing but its cursor. */
export function listFit<T>(key: string, budget = MAX_LIST_ANSWER_BYTES): PageFit<T> {
  return (items) => countThatFits(items, (kept) => ({ [key]: kept }), budget);
}

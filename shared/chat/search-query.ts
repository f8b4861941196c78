import { BadRequestError } from '../errors';
import { indexTokens, tokenize } from './search-tokens';

/**
 * What a `chat.search` query asks for (issue 22 item 6): a message matches when it holds EVERY word of the query.
 * Words of two or more letters or digits are looked up in the index (./search-tokens.ts) and their entries
 * intersected; shorter words ("7", "a") are not indexed, so they only narrow the candidates the indexed words found.
 */
export interface SearchQuery {
  /** Indexed words: each one's index entries are read and intersected. */
  readonly indexed: readonly string[];
  /** One-character words: checked on the candidates' text. */
  readonly short: readonly string[];
}

/** Most distinct words a query may hold: each indexed word is one Query per round, so this bounds a search's reads. */
export const MAX_SEARCH_WORDS = 8;

/** Every word of the text, lower-cased, unique (the index keeps only those of two or more characters). */
function words(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
}

/** The query's words; a 400 naming `query` when it holds more than MAX_SEARCH_WORDS or no word the index can find. */
export function parseSearchQuery(query: string): SearchQuery {
  const all = words(query);
  if (all.length > MAX_SEARCH_WORDS) throw new BadRequestError(`field 'query': at most ${MAX_SEARCH_WORDS} words`, 'query');
  const indexed = tokenize(query);
  if (indexed.length === 0) throw new BadRequestError("field 'query': needs a word of two or more letters or digits", 'query');
  return { indexed, short: all.filter((word) => word.length < 2) };
}

/** Whether the message's text holds every word of the query (indexed words as the index holds them). */
export function messageMatches(text: string, query: SearchQuery): boolean {
  const indexed = new Set(indexTokens(text));
  if (!query.indexed.every((token) => indexed.has(token))) return false;
  if (query.short.length === 0) return true;
  const all = new Set(words(text));
  return query.short.every((word) => all.has(word));
}

/**
 * One round of the intersection: each word's index entries below the same seq, newest first, `window` at most each.
 * Below `floor` a word whose window was full may have entries not read yet, so only seqs at or above it are
 * complete; the next round reads below `floor` (0: every list was read to its end).
 */
export function intersectWindows(windows: readonly (readonly number[])[], window: number): { seqs: number[]; floor: number } {
  const floor = Math.max(0, ...windows.filter((seqs) => seqs.length >= window).map((seqs) => seqs[seqs.length - 1] ?? 0));
  const [first = [], ...rest] = windows;
  const others = rest.map((seqs) => new Set(seqs));
  return { seqs: first.filter((seq) => seq >= floor && others.every((set) => set.has(seq))), floor };
}

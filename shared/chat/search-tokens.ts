/**
 * The room search index (docs/architecture.md, "Room search"): each message writes one index item per
 * distinct token, so a search reads the index entries of one token instead of the room's whole history.
 */

/** Most tokens indexed per message: bounds the write cost of one post. */
export const MAX_TOKENS_PER_MESSAGE = 32;
const MIN_TOKEN_LENGTH = 2;
const MAX_TOKEN_LENGTH = 64;

/** Lower-cased words of letters and digits (any script), unique, in order of first appearance. */
export function tokenize(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((word) => word.length >= MIN_TOKEN_LENGTH).map((word) => word.slice(0, MAX_TOKEN_LENGTH)))];
}

/** The tokens a message writes to the index (the first MAX_TOKENS_PER_MESSAGE distinct ones). */
export function indexTokens(text: string): string[] {
  return tokenize(text).slice(0, MAX_TOKENS_PER_MESSAGE);
}

/**
 * The token whose index entries a search reads. Without per-token counts the longest token stands in
 * for the rarest (long words are rarer than short ones); ties go to the first.
 */
export function pickLookupToken(queryTokens: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const token of queryTokens) if (best === undefined || token.length > best.length) best = token;
  return best;
}

/** A message matches when it holds every token of the query (only indexed tokens can match). */
export function matchesQuery(text: string, queryTokens: readonly string[]): boolean {
  const tokens = new Set(indexTokens(text));
  return queryTokens.every((token) => tokens.has(token));
}

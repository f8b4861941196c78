import type { Room } from './room';

/**
 * The word index of listed rooms (issue 22 item 6, SPEC §9): `chat.chansrch` finds a room when any word of its name or
 * description starts with the query, case-insensitive. Each listed (open or closed) room writes one index item per
 * distinct word, so a search is one Query on a word prefix (docs/architecture.md, "RWORD#"), never a scan.
 */

/** Most words a room indexes (its name's first, then its description's): bounds the writes of `room.create`/`room.update`. */
export const MAX_WORDS_PER_ROOM = 64;
/** Longest word prefix indexed: a longer query word is looked up by its first this-many characters, then checked on the room. */
export const MAX_ROOM_WORD_LENGTH = 32;

/** Lower-cased words of letters and digits (any script), unique, in order of first appearance. */
export function wordsOf(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
}

/** The words a room writes to the index: listed rooms only (a secret room is found by its members only). */
export function indexedRoomWords(room: Pick<Room, 'name' | 'description' | 'privacy'>): string[] {
  if (room.privacy === 'secret') return [];
  return [...new Set(wordsOf(`${room.name} ${room.description}`).map((word) => word.slice(0, MAX_ROOM_WORD_LENGTH)))].slice(0, MAX_WORDS_PER_ROOM);
}

/** Every word of the query starts some word of the room's name or description (a query without words matches nothing here). */
export function roomMatchesWords(room: Pick<Room, 'name' | 'description'>, queryWords: readonly string[]): boolean {
  if (queryWords.length === 0) return false;
  const words = wordsOf(`${room.name} ${room.description}`);
  return queryWords.every((query) => words.some((word) => word.startsWith(query)));
}

/** The query word whose index items a search reads: the longest (the most selective), cut to what the index holds. */
export function lookupWord(queryWords: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const word of queryWords) if (best === undefined || word.length > best.length) best = word;
  return best?.slice(0, MAX_ROOM_WORD_LENGTH);
}

/**
 * A room holds several words starting with the lookup ("chat", "chatter"), so several of its items match; the search
 * answers it at the first of them in index order only, so no page repeats a room another page answered.
 */
export function firstIndexedMatch(room: Pick<Room, 'name' | 'description' | 'privacy'>, lookup: string): string | undefined {
  return indexedRoomWords(room)
    .filter((word) => word.startsWith(lookup))
    .sort()[0];
}

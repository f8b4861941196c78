import type { ReadMarker } from './ports';
import { canReadRoom, type Room } from './room';

/**
 * Unread mentions one user's room item holds at most (the set of their seqs stays a few KB): past it a mention is
 * still delivered but not counted, until `chat.markread` passes some.
 */
export const MAX_COUNTED_MENTIONS = 1000;

/** What a followed room reports of the caller's reading (SPEC §9): the marker, the messages after it, the mentions among them. */
export interface ReadCounts {
  readonly readSeq: number;
  readonly unread: number;
  readonly mentions: number;
}

/**
 * Counts from the room's seq and the marker, never from history: unread = latest seq - marker, never negative; mentions
 * = the mentioned seqs after the marker (up to the room's latest, so mentions never exceed unread). A stale marker
 * read on one device and a newer one on another both give counts that are right for the marker they show.
 */
export function readCountsOf(lastSeq: number, marker: ReadMarker | undefined): ReadCounts {
  const readSeq = Math.max(0, Math.min(marker?.readSeq ?? 0, lastSeq));
  const mentions = (marker?.mentionSeqs ?? []).filter((seq) => seq > readSeq && seq <= lastSeq).length;
  return { readSeq, unread: lastSeq - readSeq, mentions };
}

/**
 * Where `chat.markread` puts the marker: at most the room's latest seq (a marker past it would count the next posts
 * as read before anyone saw them), at least 0.
 */
export function markerTarget(requested: number, lastSeq: number): number {
  return Math.max(0, Math.min(requested, lastSeq));
}

/** The mention seqs a marker has passed: pruned from the item as housekeeping (counts skip them anyway). */
export function passedMentions(marker: ReadMarker): number[] {
  return marker.mentionSeqs.filter((seq) => seq <= marker.readSeq);
}

/**
 * Who a post's `mentions` reach: each named user once, never the author, and only those who may read the room now
 * (a mention never tells someone outside a room what was said in it).
 */
export function mentionedReaders(room: Room, authorUri: string, mentions: readonly string[] = []): string[] {
  const author = authorUri.toLowerCase();
  return [...new Set(mentions.map((uri) => uri.toLowerCase()))].filter((uri) => uri !== author && canReadRoom(room, uri));
}

import { BadRequestError } from '../errors';
import type { ConferenceMessage } from './ports';

/** Where a meeting IM message sorts in its activation: by time, then id (`MSG#{ts, 15 digits}#{messageId}`). */
export function messageSortKey(message: Pick<ConferenceMessage, 'ts' | 'messageId'>): string {
  return `MSG#${String(message.ts).padStart(15, '0')}#${message.messageId}`;
}

/** A `conf.messages` cursor: the sort key of the last message answered, base64url (no JSON escaping). */
export function encodeMessageCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

/** The sort key a `conf.messages` cursor carries; a 400 naming `before` for anything else. */
export function decodeMessageCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^MSG#\d{15}#[^#]+$/.test(sortKey)) throw new BadRequestError("field 'before': not a cursor this server gave", 'before');
  return sortKey;
}

import { BadRequestError } from '../errors';

/**
 * The opaque `cursor` of a list answer: the key of the last item given (a room id, a directory order key, a roster URI,
 * …), base64url so that it needs no JSON escaping (frame-fit.ts reserves its bytes). One codec for every area.
 */
export function encodeKeyCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The key a cursor from `encodeKeyCursor` carries; a 400 naming `field` when it carries none. */
export function decodeKeyCursor(cursor: string, field = 'cursor'): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key.length === 0) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return key;
}

/** A cursor that carries a sequence number (history pages: the first seq not yet given, going back). */
export function encodeSeqCursor(seq: number): string {
  return encodeKeyCursor(`seq:${seq}`);
}

/** The seq an `encodeSeqCursor` cursor carries; a 400 naming `field` for anything else. */
export function decodeSeqCursor(cursor: string, field = 'cursor'): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return Number(match[1]);
}

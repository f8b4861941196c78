import { randomBytes } from 'node:crypto';

/** Time-ordered, unguessable ids: `conv_lx2k3j9a1f…`. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(9).toString('base64url')}`;
}

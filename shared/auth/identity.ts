import * as z from 'zod/mini';
import { SIP_URI_MAX_LENGTH, SIP_URI_PATTERN } from '../protocol/sip-uri';

/** Who is behind a connection (SPEC §1). */
export const identityKinds = ['enterprise', 'federated', 'anonymous', 'pstn', 'application', 'admin'] as const;
export const deviceKinds = ['desktop', 'mobile', 'web', 'bot'] as const;

export type IdentityKind = (typeof identityKinds)[number];
export type DeviceKind = (typeof deviceKinds)[number];

export interface Identity {
  /** The user's SIP URI, e.g. `sip:alice@contoso.com`. */
  readonly uri: string;
  readonly kind: IdentityKind;
  readonly name: string;
  readonly device: DeviceKind;
}

/**
 * A SIP URI, normalised once here (lower-cased) for every command argument and every identity, so that
 * stored lists (invitees, presenters, members) compare equal to the caller's identity whatever was typed.
 */
// The pattern and length in shared/protocol/sip-uri.ts (the web app checks typed addresses with them).
// zod/mini (the same checks and messages as the full zod; they compose in its schemas): the connection-path functions
// validate identities without loading the full library (docs/performance.md, "Bundles and init").
export const sipUri = z.pipe(
  z.string().check(z.maxLength(SIP_URI_MAX_LENGTH), z.regex(SIP_URI_PATTERN, 'expected a SIP URI like sip:alice@contoso.com')),
  z.transform((uri: string) => uri.toLowerCase()),
);

export const identitySchema = z.object({
  uri: sipUri,
  kind: z.enum(identityKinds),
  name: z.string().check(z.maxLength(256)),
  device: z.enum(deviceKinds),
});

/** The domain of a SIP URI: `sip:alice@contoso.com` → `contoso.com`. */
export function domainOf(uri: string): string {
  return uri.slice(uri.lastIndexOf('@') + 1).toLowerCase();
}

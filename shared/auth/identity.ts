import { z } from 'zod';

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

export const sipUri = z
  .string()
  .max(256)
  .regex(/^sip:[^@\s]+@[^@\s]+$/, 'expected a SIP URI like sip:alice@contoso.com');

export const identitySchema = z.object({
  uri: sipUri,
  kind: z.enum(identityKinds),
  name: z.string().max(256),
  device: z.enum(deviceKinds),
});

/** The domain of a SIP URI: `sip:alice@contoso.com` → `contoso.com`. */
export function domainOf(uri: string): string {
  return uri.slice(uri.lastIndexOf('@') + 1).toLowerCase();
}

import { z } from 'zod';
import { type Identity, identityKinds } from '../auth/identity';

/** What the archive records (SPEC §7). */
export const complianceEventTypes = [
  'chat.join',
  'chat.part',
  'chat.post',
  'chat.history',
  'chat.search',
  'chat.file.upload',
  'chat.file.download',
  'conf.join',
  'conf.leave',
  'im.message',
] as const;

export const complianceEventSchema = z.object({
  /** Stable: derived from the command's own id, so a retried command yields the same event. */
  eventId: z.string().min(1).max(512),
  type: z.enum(complianceEventTypes),
  actor: z.object({ uri: z.string(), kind: z.enum(identityKinds), name: z.string() }),
  target: z.object({ kind: z.enum(['room', 'conference', 'conversation']), id: z.string(), name: z.string().optional() }),
  /** Epoch milliseconds of the command. */
  at: z.number().int().nonnegative(),
  content: z.string().optional(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export type ComplianceEvent = z.infer<typeof complianceEventSchema>;
export type ComplianceEventType = (typeof complianceEventTypes)[number];

/** Who did it, as every event records them: the caller's identity, nothing more. */
export function actorOf(identity: Pick<Identity, 'uri' | 'kind' | 'name'>): ComplianceEvent['actor'] {
  return { uri: identity.uri, kind: identity.kind, name: identity.name };
}

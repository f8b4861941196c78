// zod/mini (the same checks as the full zod): `disconnect` composes the conference area, whose events name their actor
// with `actorOf`, and loads no full zod (docs/performance.md, "Bundles and init").
import * as z from 'zod/mini';
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
  'conf.message',
  'im.message',
  // SPEC §9: every version of a message is kept (the post's, then each edit's `content`), and who took it back when.
  'chat.edit',
  'chat.retract',
  'im.edit',
  'im.retract',
] as const;

export const complianceEventSchema = z.object({
  /** Stable: derived from the command's own id, so a retried command yields the same event. */
  eventId: z.string().check(z.minLength(1), z.maxLength(512)),
  type: z.enum(complianceEventTypes),
  actor: z.object({ uri: z.string(), kind: z.enum(identityKinds), name: z.string() }),
  target: z.object({ kind: z.enum(['room', 'conference', 'conversation']), id: z.string(), name: z.optional(z.string()) }),
  /** Epoch milliseconds of the command. */
  at: z.number().check(z.int(), z.nonnegative()),
  content: z.optional(z.string()),
  details: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
});

export type ComplianceEvent = z.output<typeof complianceEventSchema>;
export type ComplianceEventType = (typeof complianceEventTypes)[number];

/** Who did it, as every event records them: the caller's identity, nothing more. */
export function actorOf(identity: Pick<Identity, 'uri' | 'kind' | 'name'>): ComplianceEvent['actor'] {
  return { uri: identity.uri, kind: identity.kind, name: identity.name };
}

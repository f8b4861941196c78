import { z } from 'zod';
import { sipUri } from '../auth/identity';

const id = z.string().min(1).max(128);
const clientId = z.string().min(1).max(128);
const cursor = z.string().min(1).max(1024);

/**
 * The arguments of every command, by action (SPEC §2–§6). A frame whose action is not here is answered
 * 400 by the `$default` route; one whose arguments do not parse is answered 400 naming the field.
 */
export const commandSchemas = {
  ping: z.object({}),
  'chat.getserverinfo': z.object({}),

  'im.send': z
    .object({
      to: z.union([sipUri, z.array(sipUri).min(1).max(49)]).optional(),
      conversationId: id.optional(),
      text: z.string().min(1, 'must not be empty'),
      contentType: z.enum(['text/plain', 'text/html']).default('text/plain'),
      clientMsgId: clientId.optional(),
    })
    .superRefine((args, context) => {
      if ((args.to === undefined) === (args.conversationId === undefined)) {
        context.addIssue({ code: 'custom', path: ['to'], message: "give exactly one of 'to' (a new conversation) or 'conversationId'" });
      }
    }),
  'im.typing': z.object({ conversationId: id }),
  'im.keepalive': z.object({ conversationId: id }),
  'im.leave': z.object({ conversationId: id }),
  'im.history': z.object({ conversationId: id, before: cursor.optional(), limit: z.number().int().min(1).max(100).optional() }),
} as const;

export type Action = keyof typeof commandSchemas;
export type CommandArgs<A extends Action> = z.infer<(typeof commandSchemas)[A]>;

export function isKnownAction(action: string): action is Action {
  return Object.hasOwn(commandSchemas, action);
}

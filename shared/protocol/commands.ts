import { z } from 'zod';

/**
 * The arguments of every command, by action (SPEC §2–§6). A frame whose action is not here is answered
 * 400 by the `$default` route; one whose arguments do not parse is answered 400 naming the field.
 */
export const commandSchemas = {
  ping: z.object({}),
  'chat.getserverinfo': z.object({}),
} as const;

export type Action = keyof typeof commandSchemas;
export type CommandArgs<A extends Action> = z.infer<(typeof commandSchemas)[A]>;

export function isKnownAction(action: string): action is Action {
  return Object.hasOwn(commandSchemas, action);
}

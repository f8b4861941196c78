import { TooLargeError } from '../../shared/errors';
import { makeCommandHandler, type RoutesOf } from './command-handler';
import type { AreaAction } from '../../shared/protocol/actions';
import type { Dependencies } from './dependencies';

/** Instant messages (SPEC §3): parse, authorize in the domain, answer. */
export function makeImHandler(deps: Pick<Dependencies, 'conversations' | 'config'>) {
  return makeCommandHandler({
    'im.send': async (args, { identity, connectionId }) => {
      if (Buffer.byteLength(args.text, 'utf8') > deps.config.IM_MAX_MESSAGE_BYTES) {
        throw new TooLargeError(`field 'text': over ${deps.config.IM_MAX_MESSAGE_BYTES} bytes`);
      }
      return deps.conversations.send(identity, connectionId, args);
    },
    'im.typing': async ({ conversationId }, { identity, connectionId }) => {
      await deps.conversations.typing(identity, connectionId, conversationId);
      return {};
    },
    'im.keepalive': async ({ conversationId }, { identity }) => deps.conversations.keepalive(identity, conversationId),
    'im.leave': async ({ conversationId }, { identity, connectionId }) => deps.conversations.leave(identity, connectionId, conversationId),
    'im.history': async ({ conversationId, before, limit }, { identity }) =>
      deps.conversations.history(identity, conversationId, limit ?? deps.config.CHAT_HISTORY_PAGE_SIZE, before),
    'im.edit': async (args, { identity, connectionId }) => {
      if (Buffer.byteLength(args.text, 'utf8') > deps.config.IM_MAX_MESSAGE_BYTES) {
        throw new TooLargeError(`field 'text': over ${deps.config.IM_MAX_MESSAGE_BYTES} bytes`);
      }
      return deps.conversations.edit(identity, connectionId, args);
    },
    'im.retract': async (args, { identity, connectionId }) => deps.conversations.retract(identity, connectionId, args),
    'im.markread': async ({ conversationId, messageId }, { identity, connectionId }) =>
      deps.conversations.markRead(identity, connectionId, conversationId, messageId),
    'im.conversations': async ({ limit, cursor }, { identity }) => deps.conversations.conversations(identity, limit ?? 20, cursor),
  } satisfies RoutesOf<AreaAction<'im'>>);
}

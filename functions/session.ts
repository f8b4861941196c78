import { jsonBytes, MAX_LIST_ANSWER_BYTES } from '../shared/protocol/frame-fit';
import { lambdaHandler, makeCommandHandler, type RoutesOf } from './lib/command-handler';
import type { AreaAction } from '../shared/protocol/actions';
import { chatService } from './lib/compose/chat';
import { conversationService } from './lib/compose/conversation';
import { complianceQueue } from './lib/compose/compliance';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { filesOnFirstUse, timersOnFirstUse } from './lib/compose/lazy';
import { presenceService } from './lib/compose/presence';
import type { Dependencies } from './lib/dependencies';

/**
 * `session.resume` (SPEC §6): what a reconnecting client gets back without asking again. Each area answers
 * under its own key: `presence`, and `rooms`: each followed room with what came after `since[roomId]`
 * (room id → last seq seen), the newest that fit and `more` when more was missed (absent: none followed).
 * One answer is one frame (128 KB): rooms beyond it are answered by `session.resume {since, cursor}` with the
 * answer's `cursor`, which answers `rooms` (and `cursor` while more remain) only: presence came with the first.
 * IM (issue 22 item 3): `missedConversations`, and with `imSince` the `imMessages` since then (`imCursor` while
 * more remain; `session.resume {imSince, imCursor}` answers the next ones only).
 */
export function makeSessionHandler(deps: Pick<Dependencies, 'presence' | 'chat' | 'conversations'>) {
  return makeCommandHandler({
    'session.resume': async ({ since, cursor, imSince, imCursor }, context) => {
      if (cursor !== undefined) return deps.chat.resume(context, since, { cursor });
      if (imCursor !== undefined) return deps.conversations.resume(context.identity, { imSince, imCursor });
      const presence = await deps.presence.resume(context.identity, context.connectionId);
      // IM takes at most half of what presence left, the rooms the rest.
      const im = await deps.conversations.resume(context.identity, { imSince }, Math.floor((MAX_LIST_ANSWER_BYTES - jsonBytes({ presence })) / 2));
      // Missed messages returned are a read, archived as chat.history (docs/compliance.md); they get what presence and IM left.
      const page = await deps.chat.resume(context, since, { budgetBytes: MAX_LIST_ANSWER_BYTES - jsonBytes({ presence, ...im }) });
      // `rooms` only when the user follows any, so a presence-only user's answer keeps its shape.
      return page.rooms.length > 0 || page.cursor ? { presence, ...im, ...page } : { presence, ...im };
    },
  } satisfies RoutesOf<AreaAction<'session'>>);
}

const config = processConfig();
const edge = edgeDependencies(config);
// A resume neither arms a timer nor signs a file URL: those ports load their clients only if that ever changes.
const timers = timersOnFirstUse(() => (require('./lib/compose/timers') as typeof import('./lib/compose/timers')).schedulerTimers(config));
const files = filesOnFirstUse(() => (require('./lib/compose/files') as typeof import('./lib/compose/files')).s3FileStorage(config));
const compliance = complianceQueue(config);
export const handler = lambdaHandler(
  makeSessionHandler({
    presence: presenceService(edge, timers),
    chat: chatService(edge, { compliance, files, delivery: edge.delivery }),
    // IM read state only: no timer is armed and nothing archived on this path.
    conversations: conversationService(edge, { timers, compliance }),
  }),
);

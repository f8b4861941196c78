import { lambdaHandler, makeCommandHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';

/**
 * `session.resume` (SPEC §6): what a reconnecting client gets back without asking again. Each area answers
 * under its own key: `presence`, and `rooms`: each followed room with what came after `since[roomId]`
 * (room id → last seq seen), the newest page at most and `more` when more was missed (absent: none followed).
 */
export function makeSessionHandler(deps: Pick<Dependencies, 'presence' | 'chat'>) {
  return makeCommandHandler({
    'session.resume': async ({ since }, { identity, connectionId }) => {
      const [presence, rooms] = await Promise.all([deps.presence.resume(identity, connectionId), deps.chat.resume(identity, since)]);
      // `rooms` only when the user follows any, so a presence-only user's answer keeps its shape.
      return rooms.length > 0 ? { presence, rooms } : { presence };
    },
  });
}

export const handler = lambdaHandler(makeSessionHandler(productionDependencies()));

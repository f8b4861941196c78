import { serverInfo } from '../shared/chat/server-info';
import { MAX_FRAME_BYTES } from '../shared/protocol/limits';
import { lambdaHandler, makeCommandHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';

/** Persistent chat commands (SPEC §6). */
export function makeChatHandler(deps: Pick<Dependencies, 'config'>) {
  return makeCommandHandler({
    'chat.getserverinfo': async () => serverInfo(deps.config, MAX_FRAME_BYTES),
  });
}

export const handler = lambdaHandler(makeChatHandler(productionDependencies()));

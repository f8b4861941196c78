import { lambdaHandler } from './lib/command-handler';
import { makeChatHandler } from './lib/chat-handler';
import { productionDependencies } from './lib/dependencies';

export { makeChatHandler };

/** Persistent chat commands (SPEC §6); the routes are in ./lib/chat-handler.ts. */
export const handler = lambdaHandler(makeChatHandler(productionDependencies()));

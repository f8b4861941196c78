import { lambdaHandler } from './lib/command-handler';
import { makeChatHandler } from './lib/chat-handler';
import { chatService } from './lib/compose/chat';
import { complianceQueue } from './lib/compose/compliance';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { s3FileStorage } from './lib/compose/files';
import { chatDeliveryFrom } from './lib/fanout-delivery';

export { makeChatHandler };

/** Persistent chat commands (SPEC §6); the routes are in ./lib/chat-handler.ts. */
const config = processConfig();
const edge = edgeDependencies(config);
// Large rooms through the fan-out tier (issue 21 item 2).
const delivery = chatDeliveryFrom(config, edge.delivery, edge.connectionStore);
export const handler = lambdaHandler(makeChatHandler({ config, chat: chatService(edge, { compliance: complianceQueue(config), files: s3FileStorage(config), delivery }) }));

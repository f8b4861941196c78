import { lambdaHandler } from './lib/command-handler';
import { complianceQueue } from './lib/compose/compliance';
import { processConfig } from './lib/compose/config';
import { conversationService } from './lib/compose/conversation';
import { edgeDependencies } from './lib/compose/edge';
import { schedulerTimers } from './lib/compose/timers';
import { makeImHandler } from './lib/im-handler';

export { makeImHandler };

/** Instant messages (SPEC §3); the routes are in ./lib/im-handler.ts. */
const config = processConfig();
const conversations = conversationService(edgeDependencies(config), { timers: schedulerTimers(config), compliance: complianceQueue(config) });
export const handler = lambdaHandler(makeImHandler({ config, conversations }));

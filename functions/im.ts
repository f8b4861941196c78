import { lambdaHandler } from './lib/command-handler';
import { productionDependencies } from './lib/dependencies';
import { makeImHandler } from './lib/im-handler';

export { makeImHandler };

/** Instant messages (SPEC §3); the routes are in ./lib/im-handler.ts. */
export const handler = lambdaHandler(makeImHandler(productionDependencies()));

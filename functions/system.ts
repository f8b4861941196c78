import * as z from 'zod/mini';
import type { AreaAction } from '../shared/protocol/actions';
import type { RoutesOf } from './lib/command-handler';
import { makeCommandPipeline } from './lib/command-pipeline';
import { untracedLambdaHandler } from './lib/lambda-handler';

/**
 * The system actions' arguments, in zod/mini: this keep-alive function runs on every connection's idle timer, so it
 * loads neither the protocol's full schemas nor the full zod. The same as `commandSchemas.ping` of
 * shared/protocol/commands.ts (no arguments; others are dropped), which test/unit/functions/system.test.ts checks.
 */
export const systemSchemas = { ping: z.object({}) } as const satisfies Record<AreaAction<'system'>, z.ZodMiniType>;

/** `ping` answers `pong`; the frame itself is the activity that keeps API Gateway from dropping an idle connection. */
export const rawHandler = makeCommandPipeline(
  {
    ping: async () => ({ pong: true }),
  } satisfies RoutesOf<AreaAction<'system'>>,
  systemSchemas,
);
export const handler = untracedLambdaHandler(rawHandler);

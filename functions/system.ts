import { lambdaHandler, makeCommandHandler } from './lib/command-handler';

/** `ping` answers `pong`; the frame itself is the activity that keeps API Gateway from dropping an idle connection. */
export const rawHandler = makeCommandHandler({
  ping: async () => ({ pong: true }),
});
export const handler = lambdaHandler(rawHandler);

import { lambdaHandler, makeCommandHandler, type RoutesOf } from './lib/command-handler';
import type { AreaAction } from '../shared/protocol/actions';

/** `ping` answers `pong`; the frame itself is the activity that keeps API Gateway from dropping an idle connection. */
export const rawHandler = makeCommandHandler({
  ping: async () => ({ pong: true }),
} satisfies RoutesOf<AreaAction<'system'>>);
export const handler = lambdaHandler(rawHandler);

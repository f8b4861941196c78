import { lambdaHandler, makeCommandHandler } from './lib/command-handler';

/**
 * `$default`: API Gateway sends here every frame whose `action` selects no route: malformed JSON,
 * a missing or mistyped action, an unknown action. Each gets a 400 naming the problem.
 */
export const rawHandler = makeCommandHandler({});
export const handler = lambdaHandler(rawHandler);

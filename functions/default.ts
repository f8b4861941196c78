import { makeCommandPipeline } from './lib/command-pipeline';
import { untracedLambdaHandler } from './lib/lambda-handler';

/**
 * `$default`: API Gateway sends here every frame whose `action` selects no route: malformed JSON,
 * a missing or mistyped action, an unknown action. Each gets a 400 naming the problem. It routes nothing, so it
 * loads no argument schema (functions/lib/command-pipeline.ts).
 */
export const rawHandler = makeCommandPipeline({}, {});
export const handler = untracedLambdaHandler(rawHandler);

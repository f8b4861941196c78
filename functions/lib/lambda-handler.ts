import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from './logger';

/**
 * The Lambda form of a handler without Powertools' Tracer: middy with `injectLambdaContext` (the request id, function
 * name and cold start on every log line). The connection-path functions (`connect`, `disconnect`, `default`,
 * `system`) use it, so their bundles hold neither the Tracer nor the X-Ray SDK (about a third of a small function's
 * init): X-Ray still records each of their invocations from the function's active tracing, without the handler and
 * SDK-call subsegments (docs/operations.md, "Tracing"). Every other function uses `lambdaHandler` of ./observability.ts.
 */
export function untracedLambdaHandler<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler).use(injectLambdaContext(logger));
}

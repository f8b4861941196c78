import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { untracedLambdaHandler } from './lambda-handler';

// The metrics (Powertools Metrics on Lambda) live in ./metrics.ts, which the connection-path functions import without
// the Tracer; re-exported here for every other importer.
export { emitMetric, MeasuredDelivery, METRIC_NAMES, METRICS_NAMESPACE, MetricUnit, recordCommand, recordFanOut } from './metrics';

/**
 * On Lambda, where X-Ray receives them. Outside it (the local cloud, tests) Powertools' Tracer disables itself, so
 * there the module is not even loaded: the Tracer (with the X-Ray SDK) is required at init on Lambda only, and only
 * by the functions that wrap their handler with `lambdaHandler` below (docs/performance.md, "Bundles and init").
 */
const tracingOn = Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) && process.env.POWERTOOLS_TRACE_ENABLED !== 'false';

/**
 * X-Ray through Powertools: a segment per invocation (the function's active tracing) with the handler's
 * subsegment and the SDK's HTTPS calls as subsegments. Undefined where tracing is off (outside Lambda).
 */
export const tracer: Tracer | undefined = tracingOn
  ? new (require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer')).Tracer({ serviceName: 'uc-backend' })
  : undefined;

/**
 * The Lambda form of every handler but the connection path's (./lambda-handler.ts): middy with Powertools'
 * `injectLambdaContext` (the request id, function name and cold start on every log line) and, on Lambda, the
 * Tracer's handler subsegment. The raw handler stays exported for tests.
 */
export function lambdaHandler<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  const wrapped = untracedLambdaHandler(handler);
  if (!tracer) return wrapped;
  const { captureLambdaHandler } = require('@aws-lambda-powertools/tracer/middleware') as typeof import('@aws-lambda-powertools/tracer/middleware');
  return wrapped.use(captureLambdaHandler(tracer, { captureResponse: false }));
}

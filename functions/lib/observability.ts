import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { Delivery, type DeliveryReport } from '../../shared/connections/delivery';
import { logger } from './logger';

/** The namespace of the app's own metrics (docs/deploy.md, "Dashboard"); the stack's alarms and dashboard read it. */
export const METRICS_NAMESPACE = 'UcBackend';

/**
 * X-Ray through Powertools: a segment per invocation (the function's active tracing) with the handler's
 * subsegment. Outside Lambda (the local cloud, tests) Powertools disables itself.
 */
export const tracer = new Tracer({ serviceName: 'uc-backend' });

/**
 * Powertools Metrics (CloudWatch embedded metric format, one JSON line per metric). Only on Lambda: the local
 * cloud runs every handler in one process, where the lines would only be noise on stdout.
 */
const onLambda = Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'uc-backend' });

/** The metrics the app emits, with their dimensions (the stack's dashboard lists the same names). */
export const METRIC_NAMES = {
  /** One per command, dimensions `action` and `status` (200, 400, 403, 429, 503, ...). */
  command: 'Commands',
  commandDuration: 'CommandDurationMs',
  /** Connections one delivery posted to, and how long the fan-out took. */
  fanOutSize: 'FanOutSize',
  fanOutDuration: 'FanOutDurationMs',
  /** Seconds between a timer's due time and its firing reaching the timer function, dimension `rule`. */
  timerLateness: 'TimerLatenessSeconds',
  /** The age of the oldest compliance event waiting for export, after each export run. */
  complianceExportLag: 'ComplianceExportLagSeconds',
} as const;

/** Emits one metric at once (a single-metric EMF line), so concurrent commands never share a buffer. */
export function emitMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, dimensions: Readonly<Record<string, string>> = {}): void {
  if (!onLambda || !Number.isFinite(value)) return;
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, unit, value);
}

export function recordCommand(action: string, status: number, durationMs: number): void {
  emitMetric(METRIC_NAMES.command, MetricUnit.Count, 1, { action, status: String(status) });
  emitMetric(METRIC_NAMES.commandDuration, MetricUnit.Milliseconds, durationMs, { action });
}

export function recordFanOut(size: number, durationMs: number): void {
  emitMetric(METRIC_NAMES.fanOutSize, MetricUnit.Count, size);
  emitMetric(METRIC_NAMES.fanOutDuration, MetricUnit.Milliseconds, durationMs);
}

export { MetricUnit };

/**
 * The Lambda form of every handler: middy with Powertools' `injectLambdaContext` (the request id, function
 * name and cold start on every log line) and the Tracer's handler subsegment. The raw handler stays exported
 * for tests.
 */
export function lambdaHandler<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer, { captureResponse: false }));
}

/** The app's fan-out with its size and duration measured (FanOutSize, FanOutDurationMs). */
export class MeasuredDelivery extends Delivery {
  override async toConnections(connectionIds: readonly string[], payload: unknown): Promise<DeliveryReport> {
    const started = performance.now();
    try {
      return await super.toConnections(connectionIds, payload);
    } finally {
      recordFanOut(connectionIds.length, performance.now() - started);
    }
  }
}

import type { Metrics, MetricUnit as PowertoolsMetricUnit } from '@aws-lambda-powertools/metrics';
import { Delivery, type DeliveryReport } from '../../shared/connections/delivery';

/** The namespace of the app's own metrics (docs/deploy.md, "Dashboard"); the stack's alarms and dashboard read it. */
export const METRICS_NAMESPACE = 'UcBackend';

/**
 * Powertools Metrics (CloudWatch embedded metric format, one JSON line per metric), on Lambda only: outside it (the
 * local cloud, tests) metric lines would only be noise on stdout, so there the module is not even loaded.
 */
const metrics: Metrics | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME
  ? new (require('@aws-lambda-powertools/metrics') as typeof import('@aws-lambda-powertools/metrics')).Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'uc-backend' })
  : undefined;

/** The units the app's metrics use (Powertools' names), without loading Powertools Metrics to name them. */
export const MetricUnit = { Count: 'Count', Milliseconds: 'Milliseconds', Seconds: 'Seconds' } as const satisfies Partial<typeof PowertoolsMetricUnit>;

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
  if (!metrics || !Number.isFinite(value)) return;
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

/** The app's fan-out with its size and duration measured (FanOutSize, FanOutDurationMs). */
export class MeasuredDelivery extends Delivery {
  protected override async postFrame(connectionIds: readonly string[], frame: unknown): Promise<DeliveryReport> {
    const started = performance.now();
    try {
      return await super.postFrame(connectionIds, frame);
    } finally {
      recordFanOut(connectionIds.length, performance.now() - started);
    }
  }
}

import type { Context } from 'aws-lambda';
import { DirectoryArchive } from '../../shared/adapters/compliance-archive-directory';
import { S3Archive } from '../../shared/adapters/compliance-archive-s3';
import { DynamoComplianceOutbox } from '../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoComplianceStore } from '../../shared/adapters/compliance-store-dynamodb';
import { s3Client } from '../../shared/adapters/aws-clients/s3';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { ComplianceExporter, type ExportReport } from '../../shared/compliance/exporter';
import { archiveFormat } from '../../shared/compliance/formats';
import type { ComplianceArchive, ComplianceExportStore, ComplianceStore } from '../../shared/compliance/ports';
import type { Config } from '../../shared/config';
import { newId } from '../../shared/ids';
import type { Clock } from '../../shared/ports';
import { loggableError, logger } from './logger';
import { emitMetric, METRIC_NAMES, MetricUnit } from './observability';

/** Events per archive file. */
export const COMPLIANCE_BATCH_SIZE = 100;
/** Longer than any run (the function's timeout): a run that died holds the exporter for at most this long. */
export const COMPLIANCE_LEASE_MS = 60_000;
/** A run stops starting batches this long before its function times out. */
const STOP_MARGIN_MS = 3_000;

/** The compliance adapter: XML (default) or JSON Lines, in S3 when COMPLIANCE_BUCKET is set, else in COMPLIANCE_EXPORT_DIR. */
export function complianceArchiveFrom(config: Config): ComplianceArchive {
  const format = archiveFormat(config.COMPLIANCE_ADAPTER);
  if (!config.COMPLIANCE_BUCKET) return new DirectoryArchive(config.COMPLIANCE_EXPORT_DIR, format);
  // The process's S3 client (shared/adapters/aws-clients/s3.ts: path-style addressing when an endpoint is set).
  return new S3Archive(s3Client(), config.COMPLIANCE_BUCKET, format);
}

/** The production exporter over the table, the configured archive and the outbox (tests replace one of them). */
export function complianceExporterFrom(
  config: Config,
  clock: Clock,
  overrides: { readonly archive?: ComplianceArchive; readonly store?: ComplianceStore & ComplianceExportStore } = {},
): ComplianceExporter {
  return new ComplianceExporter({
    store: overrides.store ?? new DynamoComplianceStore(dynamoDocumentClient(config), config.TABLE_NAME, clock),
    archive: overrides.archive ?? complianceArchiveFrom(config),
    outbox: new DynamoComplianceOutbox(dynamoDocumentClient(config), config.TABLE_NAME),
    clock,
    newId,
    batchSize: COMPLIANCE_BATCH_SIZE,
    leaseMs: COMPLIANCE_LEASE_MS,
    // Sweep what a command left for longer than an export period (at most 30 s): its own send is long over.
    outboxGraceMs: Math.min(config.COMPLIANCE_EXPORT_SECONDS, 30) * 1000,
  });
}

/**
 * The export job, invoked by the recurring schedule. It logs `oldestPendingAgeSeconds` on every run, which
 * the stack turns into the export-age metric; a failed run throws (the function's Errors alarm) and leaves
 * its events for the next run.
 */
export function makeComplianceExportHandler(exporter: ComplianceExporter) {
  return async (_event: unknown, context: Context): Promise<ExportReport> => {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - STOP_MARGIN_MS;
    try {
      const report = await exporter.run(deadline);
      logger.info('compliance export', { ...report });
      emitMetric(METRIC_NAMES.complianceExportLag, MetricUnit.Seconds, report.oldestPendingAgeSeconds);
      return report;
    } catch (error) {
      const oldestPendingAgeSeconds = await exporter.oldestPendingAgeSeconds().catch(() => undefined);
      logger.error('compliance export failed; its events stay for the next run', { error: loggableError(error), oldestPendingAgeSeconds });
      throw error;
    }
  };
}

import { systemClock } from '../shared/adapters/clock';
import { processConfig } from './lib/compose/config';
import { complianceExporterFrom, makeComplianceExportHandler } from './lib/compliance-export-handler';
import { lambdaHandler } from './lib/observability';

/** The compliance export job (SPEC §7), on a recurring schedule; the logic is in shared/compliance/exporter.ts. */
export const handler = lambdaHandler(makeComplianceExportHandler(complianceExporterFrom(processConfig(), systemClock)));

import { systemClock } from '../shared/adapters/clock';
import { loadConfig } from '../shared/config';
import { complianceExporterFrom, makeComplianceExportHandler } from './lib/compliance-export-handler';

/** The compliance export job (SPEC §7), on a recurring schedule; the logic is in shared/compliance/exporter.ts. */
export const handler = makeComplianceExportHandler(complianceExporterFrom(loadConfig(), systemClock));

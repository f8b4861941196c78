import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { DynamoConferenceStore } from '../../../shared/adapters/conference-store-dynamodb';
import type { ComplianceQueue } from '../../../shared/compliance/ports';
import { ConferenceService } from '../../../shared/conference/service';
import { newId } from '../../../shared/ids';
import type { Timers } from '../../../shared/ports';
import type { EdgeDependencies } from './edge';

/** Conferences (SPEC §4) over the table; the deactivation timers and compliance events through the ports given. */
export function conferenceService({ config, clock, connections, delivery }: EdgeDependencies, ports: { readonly timers: Timers; readonly compliance: ComplianceQueue }): ConferenceService {
  return new ConferenceService({
    store: new DynamoConferenceStore(dynamoDocumentClient(config), config.TABLE_NAME),
    delivery,
    timers: ports.timers,
    compliance: ports.compliance,
    connections,
    clock,
    durations: {
      emptyGraceMs: config.CONFERENCE_EMPTY_GRACE_SECONDS * 1000,
      noEnterpriseMs: config.CONFERENCE_NO_ENTERPRISE_SECONDS * 1000,
      noJoinMs: config.CONFERENCE_NO_JOIN_SECONDS * 1000,
      expiryMs: config.CONFERENCE_EXPIRY_SECONDS * 1000,
      contentGraceMs: config.CONTENT_GRACE_SECONDS * 1000,
    },
    homeDomain: config.HOME_DOMAIN,
    ...(config.WEB_APP_URL ? { webAppUrl: config.WEB_APP_URL } : {}),
    newId,
  });
}

import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { DynamoConversationStore } from '../../../shared/adapters/conversation-store-dynamodb';
import type { ComplianceQueue } from '../../../shared/compliance/ports';
import { ConversationService } from '../../../shared/conversation/service';
import { newId } from '../../../shared/ids';
import type { Timers } from '../../../shared/ports';
import type { EdgeDependencies } from './edge';

/** Instant messaging (SPEC §3) over the table; the idle timers and compliance events through the ports given. */
export function conversationService({ config, clock, delivery }: EdgeDependencies, ports: { readonly timers: Timers; readonly compliance: ComplianceQueue }): ConversationService {
  return new ConversationService({
    store: new DynamoConversationStore(dynamoDocumentClient(config), config.TABLE_NAME),
    delivery,
    timers: ports.timers,
    compliance: ports.compliance,
    clock,
    idleMs: config.CONVERSATION_IDLE_SECONDS * 1000,
    newId,
  });
}

import { type DynamoDBDocumentClient, DeleteCommand, QueryCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { ComplianceOutbox } from '../compliance/ports';
import { COMPLIANCE_SHARDS, complianceShard, complianceSortKey } from './compliance-store-dynamodb';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const outboxKey = (event: Pick<ComplianceEvent, 'eventId' | 'at'>) => ({ PK: `OUTBOX#${complianceShard(event.eventId)}`, SK: complianceSortKey(event) });

/**
 * The outbox item a command adds to its own transaction (`OUTBOX#{shard}` / `{at}#{eventId}`): the event
 * is stored if and only if the command's write is. Unconditional, so it never fails the transaction.
 */
export function outboxPut(tableName: string, event: ComplianceEvent): TransactItem {
  return { Put: { TableName: tableName, Item: { ...outboxKey(event), event } } };
}

/** The outbox in the single table, over the same 8 shards as the pending events. */
export class DynamoComplianceOutbox implements ComplianceOutbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async due(before: number, limit: number): Promise<ComplianceEvent[]> {
    const cutoff = String(before).padStart(15, '0');
    const shards = await Promise.all(
      Array.from({ length: COMPLIANCE_SHARDS }, (_, shard) =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'PK = :pk AND SK < :cutoff',
            ExpressionAttributeValues: { ':pk': `OUTBOX#${shard}`, ':cutoff': cutoff },
            ConsistentRead: true,
            Limit: limit,
          }),
        ),
      ),
    );
    return shards
      .flatMap((page) => page.Items ?? [])
      .map((item) => item.event as ComplianceEvent)
      .sort((a, b) => a.at - b.at)
      .slice(0, limit);
  }

  async clear(event: ComplianceEvent): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: outboxKey(event) }));
  }
}

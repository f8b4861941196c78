import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { Clock, ComplianceStore } from '../ports';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';

/** Pending events are spread over a few partitions so a busy archive does not heat one key. */
export const COMPLIANCE_SHARDS = 8;
/** Longer than SQS's longest retention (14 days): a redelivered duplicate always meets its marker. */
const DEDUP_RETENTION_MS = 15 * 24 * 3600 * 1000;

export function complianceShard(eventId: string): number {
  return createHash('sha256').update(eventId).digest().readUInt32BE(0) % COMPLIANCE_SHARDS;
}

/**
 * In the single table: a marker `CEVT#{eventId}` that outlives the event (so a duplicate is refused even
 * after export) and the pending event `CPEND#{shard}` / `{at}#{eventId}`, written in one transaction.
 */
export class DynamoComplianceStore implements ComplianceStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async record(event: ComplianceEvent): Promise<'stored' | 'duplicate'> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  PK: `CEVT#${event.eventId}`,
                  SK: 'CEVT',
                  storedAt: this.clock.now(),
                  [TABLE_KEYS.ttlAttribute]: ttlSeconds(this.clock.now() + DEDUP_RETENTION_MS),
                },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  PK: `CPEND#${complianceShard(event.eventId)}`,
                  SK: `${String(event.at).padStart(15, '0')}#${event.eventId}`,
                  event,
                },
              },
            },
          ],
        }),
      );
      return 'stored';
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        return 'duplicate';
      }
      throw error;
    }
  }
}

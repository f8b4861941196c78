import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { BatchInFlight, ComplianceExportStore, ComplianceStore, PendingEvent, PendingRef } from '../compliance/ports';
import type { Clock } from '../ports';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { batchGetAll, batchWriteAll } from './dynamodb-operations';
import { isConditionFailure } from './aws-errors';

/** Pending events are spread over a few partitions so a busy archive does not heat one key. */
export const COMPLIANCE_SHARDS = 8;
/** Longer than SQS's longest retention (14 days): a redelivered duplicate always meets its marker. */
const DEDUP_RETENTION_MS = 15 * 24 * 3600 * 1000;

export function complianceShard(eventId: string): number {
  return createHash('sha256').update(eventId).digest().readUInt32BE(0) % COMPLIANCE_SHARDS;
}

/** `{at, 15 digits}#{eventId}`: oldest first within a shard (pending events and outbox items alike). */
export function complianceSortKey(event: Pick<ComplianceEvent, 'at' | 'eventId'>): string {
  return `${String(event.at).padStart(15, '0')}#${event.eventId}`;
}

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

const pendingKey = (ref: PendingRef) => ({ PK: `CPEND#${ref.shard}`, SK: ref.sortKey });
const markerKey = (eventId: string) => ({ PK: `CEVT#${eventId}`, SK: 'CEVT' });
/** The exporter's lease and its batch in flight: one item, so taking the lease also reveals what a dead run left. */
const EXPORT_STATE_KEY = { PK: 'CEXPORT', SK: 'STATE' } as const;
/** A transaction holds at most 100 items: a marker update and a pending delete per event. */
const EVENTS_PER_TRANSACTION = 50;

/**
 * In the single table: a marker `CEVT#{eventId}` that outlives the event (so a duplicate is refused even
 * after export) and the pending event `CPEND#{shard}` / `{at}#{eventId}`, written in one transaction.
 * The export reads the pending events oldest first, notes on each marker the batch that holds it
 * (`exportedIn`) and deletes them; its lease and batch in flight are `CEXPORT` / `STATE`.
 */
export class DynamoComplianceStore implements ComplianceStore, ComplianceExportStore {
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
                  SK: complianceSortKey(event),
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

  async acquireLease(owner: string, now: number, until: number): Promise<{ readonly inFlight?: BatchInFlight } | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: EXPORT_STATE_KEY,
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :until',
          ConditionExpression: 'attribute_not_exists(#owner) OR leaseUntil < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const inFlight = Attributes?.inFlight as BatchInFlight | undefined;
      return inFlight ? { inFlight } : {};
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async releaseLease(owner: string): Promise<void> {
    await this.ownerUpdate(owner, 'REMOVE #owner, leaseUntil');
  }

  async beginBatch(owner: string, batch: BatchInFlight, until: number): Promise<boolean> {
    return this.ownerUpdate(owner, 'SET inFlight = :batch, leaseUntil = :until', { ':batch': batch, ':until': until });
  }

  async endBatch(owner: string, batchId: string): Promise<void> {
    await this.ownerUpdate(owner, 'REMOVE inFlight', { ':batchId': batchId }, 'inFlight.batchId = :batchId');
  }

  async oldestPending(limit: number): Promise<PendingEvent[]> {
    // Each shard's oldest `limit`, merged: the overall oldest `limit` are among them.
    const shards = await Promise.all(Array.from({ length: COMPLIANCE_SHARDS }, (_, shard) => this.queryShard(shard, limit)));
    return shards
      .flat()
      .sort((a, b) => a.event.at - b.event.at || (a.ref.sortKey < b.ref.sortKey ? -1 : 1))
      .slice(0, limit);
  }

  async readPending(refs: readonly PendingRef[]): Promise<PendingEvent[]> {
    const items = await this.batchGet(refs.map(pendingKey));
    return items.map((item) => toPendingEvent(item));
  }

  async exportedIn(eventIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const markers = await this.batchGet(eventIds.map(markerKey));
    const exported = new Map<string, string>();
    for (const marker of markers) {
      if (typeof marker.exportedIn === 'string') exported.set(String(marker.PK).slice('CEVT#'.length), marker.exportedIn);
    }
    return exported;
  }

  async markExported(batchId: string, refs: readonly PendingRef[], now: number): Promise<void> {
    for (let start = 0; start < refs.length; start += EVENTS_PER_TRANSACTION) {
      const chunk = refs.slice(start, start + EVENTS_PER_TRANSACTION);
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: chunk.flatMap((ref) => [
            {
              Update: {
                TableName: this.tableName,
                Key: markerKey(ref.eventId),
                // if_not_exists: a marker that TTL already took must not come back forever.
                UpdateExpression: 'SET exportedIn = :batchId, exportedAt = :now, #ttl = if_not_exists(#ttl, :ttl)',
                ExpressionAttributeNames: { '#ttl': TABLE_KEYS.ttlAttribute },
                ExpressionAttributeValues: { ':batchId': batchId, ':now': now, ':ttl': ttlSeconds(now + DEDUP_RETENTION_MS) },
              },
            },
            { Delete: { TableName: this.tableName, Key: pendingKey(ref) } },
          ]),
        }),
      );
    }
  }

  async discard(refs: readonly PendingRef[]): Promise<void> {
    await this.batchWrite(refs.map((ref) => ({ DeleteRequest: { Key: pendingKey(ref) } })));
  }

  async oldestPendingAt(): Promise<number | undefined> {
    const oldest = (await Promise.all(Array.from({ length: COMPLIANCE_SHARDS }, (_, shard) => this.queryShard(shard, 1)))).flat();
    return oldest.length === 0 ? undefined : Math.min(...oldest.map((p) => p.event.at));
  }

  private async queryShard(shard: number, limit: number): Promise<PendingEvent[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `CPEND#${shard}` },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => toPendingEvent(item));
  }

  /** An update of the export state on the condition that `owner` holds the lease; false when it does not. */
  private async ownerUpdate(owner: string, update: string, values: Record<string, unknown> = {}, extraCondition?: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: EXPORT_STATE_KEY,
          UpdateExpression: update,
          ConditionExpression: extraCondition ? `#owner = :owner AND ${extraCondition}` : '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ...values },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private batchGet(keys: readonly { PK: string; SK: string }[]): Promise<Record<string, unknown>[]> {
    return batchGetAll(this.client, this.tableName, keys);
  }

  private batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    return batchWriteAll(this.client, this.tableName, requests);
  }
}

function toPendingEvent(item: Record<string, unknown>): PendingEvent {
  const event = item.event as ComplianceEvent;
  return { ref: { eventId: event.eventId, shard: Number(String(item.PK).slice('CPEND#'.length)), sortKey: String(item.SK) }, event };
}

import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { inParallel } from '../concurrency';
import { DependencyThrottledError } from '../errors';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** The DynamoDB calls every store adapter makes the same way: paging, batching and transactions. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** DynamoDB's BatchGetItem and BatchWriteItem limits. */
const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem requests of one `batchGetAll` in flight at once. */
const BATCH_GET_PARALLELISM = 8;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How often a batch's unprocessed keys or items are sent again, and the first wait (doubling after). DynamoDB
 * answers unprocessed work when a partition is throttled; past the rounds it is a throttling failure (a 503 with
 * `retryAfterMs` for the client), not an endless loop inside one invocation. About 3 s in all by default.
 */
export interface UnprocessedRetry {
  readonly rounds: number;
  readonly baseDelayMs: number;
}
export const UNPROCESSED_RETRY: UnprocessedRetry = { rounds: 6, baseDelayMs: 50 };

/** Thrown when a batch still has unprocessed work after its rounds: DynamoDB throttling, so a 503 (shared/errors.ts). */
export class UnprocessedBatchError extends DependencyThrottledError {
  constructor(operation: 'BatchGetItem' | 'BatchWriteItem', readonly unprocessed: number, rounds: number) {
    super('dynamodb', { cause: new Error(`${operation}: ${unprocessed} item(s) still unprocessed after ${rounds} rounds`) });
    this.name = 'UnprocessedBatchError';
  }
}

/** Every item of a query, page after page. */
export async function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** How a batch get reads: strongly consistent (default) or not, and only some attributes (default all). */
export interface BatchGetOptions {
  readonly consistent?: boolean;
  readonly projection?: readonly string[];
}

/**
 * BatchGetItem in chunks of 100, consistent unless told otherwise, retrying unprocessed keys with backoff
 * (bounded: `UNPROCESSED_RETRY`, then `UnprocessedBatchError`, a 503: never an answer with keys silently missing).
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly { PK: string; SK: string }[],
  retry: UnprocessedRetry = UNPROCESSED_RETRY,
  options: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> {
  const projection = options.projection?.length
    ? {
        ProjectionExpression: options.projection.map((_, index) => `#p${index}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(options.projection.map((name, index) => [`#p${index}`, name])),
      }
    : {};
  const chunks: Record<string, unknown>[][] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) chunks.push(keys.slice(start, start + BATCH_GET_LIMIT));
  // The chunks at once (a few in flight), not one after another: a 5,000-follower room's endpoints are 50 requests
  // (issue 21: serial reads were a fan-out's first cost). BatchGetItem answers in no order anyway.
  const read = await inParallel(chunks, BATCH_GET_PARALLELISM, async (chunk) => {
    const items: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] | undefined = chunk;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > retry.rounds) throw new UnprocessedBatchError('BatchGetItem', pending.length, retry.rounds);
      if (attempt > 0) await delay(retry.baseDelayMs * 2 ** (attempt - 1));
      const answer: BatchGetCommandOutput = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistent ?? true, ...projection } } }),
      );
      items.push(...(answer.Responses?.[tableName] ?? []));
      pending = answer.UnprocessedKeys?.[tableName]?.Keys;
    }
    return items;
  });
  return read.flat();
}

/** BatchWriteItem in chunks of 25, retrying unprocessed items with backoff (bounded: `UNPROCESSED_RETRY`). */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  retry: UnprocessedRetry = UNPROCESSED_RETRY,
): Promise<void> {
  for (let start = 0; start < requests.length; start += BATCH_WRITE_LIMIT) {
    let pending: WriteRequest[] | undefined = requests.slice(start, start + BATCH_WRITE_LIMIT);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > retry.rounds) throw new UnprocessedBatchError('BatchWriteItem', pending.length, retry.rounds);
      if (attempt > 0) await delay(retry.baseDelayMs * 2 ** (attempt - 1));
      const answer: BatchWriteCommandOutput = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = answer.UnprocessedItems?.[tableName];
    }
  }
}

/**
 * Runs a transaction and answers the indexes of the items whose condition failed (none on success).
 * A cancellation with no failed condition (a conflicting transaction in flight, throttling) is rethrown,
 * or, with `conflictAsLost`, answered as a lost race on the first item, for callers that re-read and retry.
 */
export async function transactWrite(client: DynamoDBDocumentClient, items: TransactItem[], options: { conflictAsLost?: boolean } = {}): Promise<number[]> {
  try {
    await client.send(new TransactWriteCommand({ TransactItems: items }));
    return [];
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const failed = (error.CancellationReasons ?? []).flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : []));
    if (failed.length > 0) return failed;
    if (options.conflictAsLost) return [0];
    throw error;
  }
}

import { inParallel } from '../concurrency';
import type { ConnectionStore, Connections, DeliveryReport, DomainEvent, EventDelivery } from '../ports';
import { serverEvent } from '../protocol/envelope';
import type { ServerEventPayloads } from '../protocol/events';
import type { Delivery } from './delivery';
import { SerializedFrame } from './frame';

/**
 * The fan-out tier for large rooms (issue 21 item 2; docs/architecture.md, "Fan-out tier"): above
 * `directMax` connections a delivery is split into shards of `shardSize` connections, queued, and posted by
 * fan-out workers in parallel; the caller returns once the shards are queued.
 */
export interface FanOutPolicy {
  /** FANOUT_DIRECT_MAX: up to this many connections, the calling function posts itself (today's path). */
  readonly directMax: number;
  /** FANOUT_SHARD_SIZE: connections per shard, i.e. per queue message. */
  readonly shardSize: number;
}

/** One queued part of a large fan-out: the frame, serialised once, and the connections it goes to. */
export interface FanOutShard {
  /** `{fanOutId}.{index}`: kept by every retry of the shard, so its progress is found again. */
  readonly shardId: string;
  /** The server frame as JSON text (at most 32 KiB: MAX_FRAME_BYTES). */
  readonly frame: string;
  readonly connectionIds: readonly string[];
}

/** Where shards wait for a fan-out worker (SQS). */
export interface FanOutQueue {
  /**
   * Queues the shards; answers those it could not queue (throttled, unavailable or refused by the queue, after its
   * own retry), so the caller delivers them another way. Never rejects: some shards may already be queued.
   */
  sendShards(shards: readonly FanOutShard[]): Promise<readonly FanOutShard[]>;
}

/** What a failed attempt of a shard already did, so its retry never posts twice to a connection. */
export interface ShardProgress {
  /** Connections an earlier attempt of the shard delivered to (or found gone); empty when none was recorded. */
  done(shardId: string): Promise<ReadonlySet<string>>;
  /** Records them (the whole set so far) after an attempt that failed on some connection. */
  record(shardId: string, connectionIds: readonly string[]): Promise<void>;
}

export interface TieredDeliveryReport extends DeliveryReport {
  /** Connections handed to the fan-out tier (0 on the direct path). */
  readonly queued: number;
  readonly shards: number;
}

/** Splits the connection ids into consecutive shards of at most `size`. */
export function shardsOf<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`shard size ${size} is not a positive integer`);
  const shards: T[][] = [];
  for (let start = 0; start < items.length; start += size) shards.push(items.slice(start, start + size));
  return shards;
}

/** The shards of one fan-out of `frame`: numbered in order, all carrying the same serialised frame. */
export function planFanOut(fanOutId: string, frame: SerializedFrame, connectionIds: readonly string[], shardSize: number): FanOutShard[] {
  return shardsOf(connectionIds, shardSize).map((ids, index) => ({ shardId: `${fanOutId}.${index}`, frame: frame.text, connectionIds: ids }));
}

/**
 * Delivery with the fan-out tier: small audiences go the direct path (the given `Delivery`), a large one is
 * serialised once, sharded and queued. Same port as `Delivery`, so a use case (chat's post) needs no change.
 */
export class TieredDelivery implements EventDelivery<ServerEventPayloads> {
  constructor(
    private readonly direct: Pick<Delivery, 'toConnections'>,
    private readonly store: Pick<ConnectionStore, 'connectionIdsOf'>,
    private readonly queue: FanOutQueue,
    private readonly policy: FanOutPolicy,
    private readonly newId: (prefix: string) => string,
  ) {}

  async toConnections(connectionIds: readonly string[], event: DomainEvent<ServerEventPayloads>): Promise<TieredDeliveryReport> {
    if (connectionIds.length <= this.policy.directMax) {
      return { ...(await this.direct.toConnections(connectionIds, event)), queued: 0, shards: 0 };
    }
    const frame = SerializedFrame.of(serverEvent(event.event, event.payload as never));
    const shards = planFanOut(this.newId('fo'), frame, connectionIds, this.policy.shardSize);
    const unqueued = await this.queue.sendShards(shards);
    if (unqueued.length === 0) return { delivered: 0, removed: 0, failed: 0, queued: connectionIds.length, shards: shards.length };
    // The post is stored and its retry replays without fan-out: what the queue did not take goes the direct path now.
    const fallback = unqueued.flatMap((shard) => shard.connectionIds);
    const direct = await this.direct.toConnections(fallback, event);
    return { ...direct, queued: connectionIds.length - fallback.length, shards: shards.length - unqueued.length };
  }

  async toUsers(uris: readonly string[], event: DomainEvent<ServerEventPayloads>, exceptConnectionId?: string): Promise<TieredDeliveryReport> {
    const ids = new Set(await this.store.connectionIdsOf(uris));
    if (exceptConnectionId) ids.delete(exceptConnectionId);
    return this.toConnections([...ids], event);
  }
}

export interface ShardReport {
  readonly delivered: number;
  readonly removed: number;
  /** Posts API Gateway refused for good (a client fault other than 429): not retried. */
  readonly refused: number;
  /** Connections an earlier attempt had done, not posted to again. */
  readonly skipped: number;
}

/** A shard that failed on some connections: the worker reports it as a batch item failure, and SQS retries it. */
export class ShardFailedError extends Error {
  constructor(
    readonly shardId: string,
    readonly failed: number,
    readonly done: number,
  ) {
    super(`shard ${shardId}: ${failed} post(s) failed, ${done} done and recorded`);
    this.name = 'ShardFailedError';
  }
}

/**
 * The fan-out worker's use case: post one shard's frame to its connections. A gone connection is removed
 * from the store. When a post fails, what the attempt did is recorded (one write per failed attempt, none on
 * the happy path) and the shard fails; its retry reads that record and posts only to the rest, so a retried
 * shard never posts twice to a connection an attempt completed. Only a worker that dies mid-shard (its
 * record never written) or a post that timed out after reaching the socket can repeat a frame: the client
 * drops it by its `seq` (client/src/room-sequence.ts).
 */
export class ShardDelivery {
  constructor(
    private readonly connections: Connections,
    private readonly store: Pick<ConnectionStore, 'removeGone'>,
    private readonly progress: ShardProgress,
    private readonly concurrency: number,
  ) {}

  /** `retried`: SQS delivered this shard before (ApproximateReceiveCount > 1), so an earlier attempt may have recorded progress. */
  async deliver(shard: FanOutShard, retried: boolean): Promise<ShardReport> {
    const earlier = retried ? await this.progress.done(shard.shardId) : new Set<string>();
    const frame = new SerializedFrame(shard.frame);
    const todo = shard.connectionIds.filter((id) => !earlier.has(id));
    const done: string[] = [];
    let delivered = 0;
    let removed = 0;
    let failed = 0;
    let refused = 0;
    await inParallel(todo, this.concurrency, async (connectionId) => {
      let outcome: 'delivered' | 'gone';
      try {
        outcome = await this.connections.post(connectionId, frame);
      } catch (error) {
        // A refusal for good (413 too large, 403) would fail every retry and page the DLQ alarm: counted, not retried.
        if (!refusedForGood(error)) {
          failed++;
          return;
        }
        refused++;
        done.push(connectionId);
        return;
      }
      done.push(connectionId);
      if (outcome === 'delivered') {
        delivered++;
        return;
      }
      // A stale record left behind costs one failed post next time; not a reason to retry the shard. One still in
      // its `$connect` (410 until that returns) is kept.
      if (await this.store.removeGone(connectionId).catch(() => false)) removed++;
    });
    if (failed > 0) {
      const all = [...earlier, ...done];
      await this.progress.record(shard.shardId, all);
      throw new ShardFailedError(shard.shardId, failed, all.length);
    }
    return { delivered, removed, refused, skipped: shard.connectionIds.length - todo.length };
  }
}

/** An SDK client fault other than throttling (429): the same post would be refused again. */
function refusedForGood(error: unknown): boolean {
  const failure = error as { $fault?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return failure?.$fault === 'client' && failure.$metadata?.httpStatusCode !== 429;
}

/** An in-memory ShardProgress (unit tests). */
export class MemoryShardProgress implements ShardProgress {
  readonly records = new Map<string, readonly string[]>();

  async done(shardId: string): Promise<ReadonlySet<string>> {
    return new Set(this.records.get(shardId) ?? []);
  }

  async record(shardId: string, connectionIds: readonly string[]): Promise<void> {
    this.records.set(shardId, [...connectionIds]);
  }
}

import type { SQSClient } from '@aws-sdk/client-sqs';
import { batchesOf, SqsFanOutQueue } from '../../../../shared/adapters/fanout-queue-sqs';
import {
  type FanOutShard,
  MemoryShardProgress,
  planFanOut,
  ShardDelivery,
  ShardFailedError,
  shardsOf,
  TieredDelivery,
} from '../../../../shared/connections/fanout';
import { SerializedFrame } from '../../../../shared/connections/frame';
import type { DeliveryReport, DomainEvent } from '../../../../shared/ports';
import type { ServerEventPayloads } from '../../../../shared/protocol/events';

const ids = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const message: DomainEvent<ServerEventPayloads> = {
  event: 'chat.message',
  payload: { roomId: 'r1', seq: 7, messageId: 'm7', from: { uri: 'sip:a@contoso.com', name: 'a' }, text: 'hello', ts: 1 } as never,
};

/** `@connections` whose posts fail for the listed connections until `heal()`. */
class ScriptedConnections {
  readonly posts: Array<{ connectionId: string; frame: unknown }> = [];
  constructor(
    private failing = new Set<string>(),
    private readonly gone = new Set<string>(),
  ) {}
  heal() {
    this.failing = new Set();
  }
  async post(connectionId: string, frame: unknown): Promise<'delivered' | 'gone'> {
    this.posts.push({ connectionId, frame });
    if (this.failing.has(connectionId)) throw new Error(`endpoint ${connectionId} unreachable`);
    return this.gone.has(connectionId) ? 'gone' : 'delivered';
  }
  async status() {
    return undefined;
  }
  async disconnect() {}
  postsTo(connectionId: string) {
    return this.posts.filter((p) => p.connectionId === connectionId).length;
  }
}

describe('shardsOf', () => {
  test('splits in order into shards of at most the size, the last one shorter', () => {
    expect(shardsOf(ids(17), 8).map((s) => s.length)).toEqual([8, 8, 1]);
    expect(shardsOf(ids(17), 8).flat()).toEqual(ids(17));
  });

  test('an exact multiple has no empty shard; nothing gives no shard', () => {
    expect(shardsOf(ids(16), 8).map((s) => s.length)).toEqual([8, 8]);
    expect(shardsOf([], 8)).toEqual([]);
  });

  test('a size that is not a positive integer is refused', () => {
    expect(() => shardsOf(ids(3), 0)).toThrow(/shard size/);
    expect(() => shardsOf(ids(3), 1.5)).toThrow(/shard size/);
  });
});

describe('planFanOut', () => {
  test('numbers the shards under one fan-out id and carries the frame serialised once', () => {
    const frame = new SerializedFrame('{"type":"event","event":"chat.message"}');
    const shards = planFanOut('fo_1', frame, ids(60), 8);
    expect(shards.map((s) => s.shardId)).toEqual(Array.from({ length: 8 }, (_, i) => `fo_1.${i}`));
    expect(new Set(shards.flatMap((s) => s.connectionIds)).size).toBe(60);
    expect(shards.every((s) => s.frame === frame.text)).toBe(true);
  });
});

describe('TieredDelivery', () => {
  function tiered(directMax: number, shardSize: number, connectionIds: string[], unqueued: (shards: readonly FanOutShard[]) => readonly FanOutShard[] = () => []) {
    const direct: { calls: Array<readonly string[]>; toConnections: (ids: readonly string[]) => Promise<DeliveryReport> } = {
      calls: [],
      async toConnections(list) {
        this.calls.push(list);
        return { delivered: list.length, removed: 0, failed: 0 };
      },
    };
    const queued: FanOutShard[][] = [];
    const delivery = new TieredDelivery(
      direct,
      { connectionIdsOf: async () => connectionIds },
      {
        sendShards: async (shards) => {
          const refused = unqueued(shards);
          queued.push(shards.filter((shard) => !refused.includes(shard)));
          return refused;
        },
      },
      { directMax, shardSize },
      (prefix) => `${prefix}_x`,
    );
    return { delivery, direct, queued };
  }

  test('up to the direct maximum, the direct path posts and nothing is queued', async () => {
    const { delivery, direct, queued } = tiered(10, 8, ids(10));
    const report = await delivery.toUsers(['sip:u@contoso.com'], message);
    expect(report).toMatchObject({ delivered: 10, queued: 0, shards: 0 });
    expect(direct.calls).toHaveLength(1);
    expect(queued).toHaveLength(0);
  });

  test('above it, the connections (but the sender) are queued in shards, every connection in exactly one', async () => {
    const { delivery, direct, queued } = tiered(10, 8, ids(61));
    const report = await delivery.toUsers(['sip:u@contoso.com'], message, 'c60');
    expect(direct.calls).toHaveLength(0);
    expect(report).toMatchObject({ delivered: 0, queued: 60, shards: 8 });
    expect(queued).toHaveLength(1);
    const all = queued[0]!.flatMap((s) => s.connectionIds);
    expect(all.sort()).toEqual(ids(60).sort());
    expect(queued[0]!.every((s) => s.connectionIds.length <= 8)).toBe(true);
    // The wire frame, built once: the envelope of the event.
    expect(JSON.parse(queued[0]![0]!.frame)).toEqual({ type: 'event', event: 'chat.message', ...(message.payload as object) });
  });
});

describe('TieredDelivery when the queue cannot take a shard', () => {
  test('a shard the fan-out queue refused (throttled, down, too large) is posted on the direct path: no follower loses the live message', async () => {
    const direct: Array<readonly string[]> = [];
    const queued: FanOutShard[] = [];
    const delivery = new TieredDelivery(
      { toConnections: async (list) => (direct.push(list), { delivered: list.length, removed: 0, failed: 0 }) },
      { connectionIdsOf: async () => ids(30) },
      // The second shard of three is refused.
      { sendShards: async (shards) => (queued.push(shards[0]!, shards[2]!), [shards[1]!]) },
      { directMax: 10, shardSize: 10 },
      (prefix) => `${prefix}_x`,
    );
    const report = await delivery.toUsers(['sip:u@contoso.com'], message);
    expect(direct).toEqual([ids(30).slice(10, 20)]);
    expect(report).toMatchObject({ delivered: 10, queued: 20, shards: 2 });
    expect([...queued.flatMap((shard) => shard.connectionIds), ...direct.flat()].sort()).toEqual(ids(30).sort());
  });
});

describe('ShardDelivery', () => {
  const shard: FanOutShard = { shardId: 'fo_1.0', frame: '{"type":"event","event":"chat.message","seq":1}', connectionIds: ids(8) };

  test('a post API Gateway refuses for good (a client fault such as 413 or 403, not 429) is not retried: the shard succeeds without it', async () => {
    const refusing = {
      posts: 0,
      async post(connectionId: string) {
        this.posts++;
        if (connectionId === 'c2') throw Object.assign(new Error('payload too large'), { name: 'PayloadTooLargeException', $fault: 'client', $metadata: { httpStatusCode: 413 } });
        if (connectionId === 'c5') throw Object.assign(new Error('slow down'), { name: 'TooManyRequestsException', $fault: 'client', $metadata: { httpStatusCode: 429 } });
        return 'delivered' as const;
      },
      async status() {
        return undefined;
      },
      async disconnect() {},
    };
    const progress = new MemoryShardProgress();
    const worker = new ShardDelivery(refusing, { removeGone: async () => true }, progress, 4);
    // The 429 is worth a retry, the 413 is not: the retry posts to c5 only.
    await expect(worker.deliver(shard, false)).rejects.toMatchObject({ failed: 1 });
    expect([...(await progress.done(shard.shardId))].sort()).toEqual(ids(8).filter((id) => id !== 'c5').sort());
  });

  test('posts the same serialised frame to every connection and removes a gone one', async () => {
    const connections = new ScriptedConnections(new Set(), new Set(['c3']));
    const deleted: string[] = [];
    const progress = new MemoryShardProgress();
    const worker = new ShardDelivery(connections, { removeGone: async (id) => (deleted.push(id), true) }, progress, 4);
    await expect(worker.deliver(shard, false)).resolves.toEqual({ delivered: 7, removed: 1, refused: 0, skipped: 0 });
    expect(deleted).toEqual(['c3']);
    expect(new Set(connections.posts.map((p) => p.frame)).size).toBe(1);
    expect(progress.records.size).toBe(0); // nothing written on the happy path
  });

  test('a shard that failed on one connection is retried on that connection only: no connection gets it twice', async () => {
    const connections = new ScriptedConnections(new Set(['c5']));
    const progress = new MemoryShardProgress();
    const worker = new ShardDelivery(connections, { removeGone: async () => true }, progress, 4);

    const first = worker.deliver(shard, false);
    await expect(first).rejects.toBeInstanceOf(ShardFailedError);
    expect([...(await progress.done(shard.shardId))].sort()).toEqual(ids(8).filter((id) => id !== 'c5').sort());

    connections.heal();
    await expect(worker.deliver(shard, true)).resolves.toEqual({ delivered: 1, removed: 0, refused: 0, skipped: 7 });
    for (const id of ids(8).filter((id) => id !== 'c5')) expect(connections.postsTo(id)).toBe(1);
    expect(connections.postsTo('c5')).toBe(2); // the failed attempt and the retry
  });

  test('progress accumulates over several failed attempts', async () => {
    const connections = new ScriptedConnections(new Set(['c1', 'c2']));
    const progress = new MemoryShardProgress();
    const worker = new ShardDelivery(connections, { removeGone: async () => true }, progress, 8);
    await expect(worker.deliver(shard, false)).rejects.toThrow(/2 post\(s\) failed/);
    await expect(worker.deliver(shard, true)).rejects.toThrow(/2 post\(s\) failed, 6 done/);
    connections.heal();
    await expect(worker.deliver(shard, true)).resolves.toEqual({ delivered: 2, removed: 0, refused: 0, skipped: 6 });
    for (const id of ['c0', 'c3', 'c4', 'c5', 'c6', 'c7']) expect(connections.postsTo(id)).toBe(1);
  });
});

describe('batchesOf (SendMessageBatch limits)', () => {
  test('at most ten entries per request', () => {
    expect(batchesOf(Array.from({ length: 25 }, () => 'x')).map((b) => b.length)).toEqual([10, 10, 5]);
  });

  test('at most 256 KiB of bodies per request: shards with 32 KiB frames go seven to a request', () => {
    const body = 'y'.repeat(34 * 1024);
    const batches = batchesOf(Array.from({ length: 10 }, () => body));
    expect(batches.map((b) => b.length)).toEqual([7, 3]);
  });
});

describe('SqsFanOutQueue answers what it could not queue', () => {
  const shards = (n: number): FanOutShard[] => Array.from({ length: n }, (_, i) => ({ shardId: `fo.${i}`, frame: '{}', connectionIds: [`c${i}`] }));

  test('a request that fails (throttled or unavailable after the SDK) answers all its shards; the others are queued', async () => {
    let calls = 0;
    const client = { send: async () => (++calls === 2 ? Promise.reject(new Error('throttled')) : { Failed: [] }) } as unknown as SQSClient;
    const unsent = await new SqsFanOutQueue(client, 'url').sendShards(shards(25));
    expect(unsent.map((shard) => shard.shardId)).toEqual(shards(25).slice(10, 20).map((shard) => shard.shardId));
  });

  test('entries refused twice are answered; entries refused once are sent again and queued', async () => {
    const answers = [{ Failed: [{ Id: '1', Code: 'InternalError' }, { Id: '2', Code: 'InternalError' }] }, { Failed: [{ Id: '1', Code: 'InternalError' }] }];
    const client = { send: async () => answers.shift() } as unknown as SQSClient;
    const unsent = await new SqsFanOutQueue(client, 'url').sendShards(shards(3));
    expect(unsent.map((shard) => shard.shardId)).toEqual(['fo.2']);
  });
});

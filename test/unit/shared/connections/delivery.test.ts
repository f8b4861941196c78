import { Delivery } from '../../../../shared/connections/delivery';
import { CONNECTING_GRACE_MS, type ConnectionRecord, type ConnectionStatus, type ConnectionStore, type Connections } from '../../../../shared/ports';

type Outcome = 'delivered' | 'gone' | 'throw';

interface PendingPost {
  readonly connectionId: string;
  release(): void;
}

/**
 * An in-memory `@connections`: each post's outcome is chosen per connection id. In gated mode posts stay
 * in flight until the test releases them, so the number of concurrent posts can be observed exactly.
 */
class FakeConnections implements Connections {
  readonly posted: Array<{ connectionId: string; payload: unknown }> = [];
  readonly pending: PendingPost[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly outcomes: ReadonlyMap<string, Outcome> = new Map(),
    private readonly gated = false,
  ) {}

  post(connectionId: string, payload: unknown): Promise<'delivered' | 'gone'> {
    this.posted.push({ connectionId, payload });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const outcome = this.outcomes.get(connectionId) ?? 'delivered';
    return new Promise((resolve, reject) => {
      const release = () => {
        this.inFlight--;
        if (outcome === 'throw') reject(new Error(`endpoint ${connectionId} unreachable`));
        else resolve(outcome);
      };
      if (this.gated) this.pending.push({ connectionId, release });
      else queueMicrotask(release);
    });
  }

  /** Completes the pending post at `index` (oldest first). */
  releaseAt(index: number): string {
    const [post] = this.pending.splice(index, 1);
    if (!post) throw new Error(`no pending post at ${index}`);
    post.release();
    return post.connectionId;
  }

  async status(): Promise<ConnectionStatus | undefined> {
    return undefined;
  }

  async disconnect(): Promise<void> {}
}

class FakeConnectionStore implements ConnectionStore {
  readonly records = new Map<string, ConnectionRecord>();
  readonly deleted: string[] = [];

  constructor(
    records: readonly ConnectionRecord[] = [],
    private readonly failingDeletes: ReadonlySet<string> = new Set(),
  ) {
    for (const record of records) this.records.set(record.connectionId, record);
  }

  async put(record: ConnectionRecord): Promise<void> {
    this.records.set(record.connectionId, record);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.records.get(connectionId);
  }

  async delete(connectionId: string): Promise<void> {
    if (this.failingDeletes.has(connectionId)) throw new Error('store unavailable');
    this.deleted.push(connectionId);
    this.records.delete(connectionId);
  }

  /** As the stores do: one that connected within the grace (its `$connect` may still be running) is kept. */
  async removeGone(connectionId: string): Promise<boolean> {
    const record = this.records.get(connectionId);
    if (!record || record.connectedAt >= Date.now() - CONNECTING_GRACE_MS) return false;
    await this.delete(connectionId);
    return true;
  }

  async listByUser(uri: string): Promise<ConnectionRecord[]> {
    return [...this.records.values()].filter((record) => record.uri === uri);
  }

  async connectionIdsOf(uris: readonly string[]): Promise<string[]> {
    return [...this.records.values()].filter((record) => uris.includes(record.uri)).map((record) => record.connectionId);
  }
}

function record(connectionId: string, uri: string): ConnectionRecord {
  return { connectionId, uri, kind: 'enterprise', name: uri, device: 'desktop', connectedAt: 1_000, expiresAt: 7_201_000 };
}

function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c${i}`);
}

/** Lets every already-resolved promise chain run (no timers involved). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// What a use case hands to delivery, and the envelope delivery builds from it at the edge.
const payload = { event: 'chat.removed', payload: { roomId: 'room-1', reason: 'deleted' } } as const;
const frame = { type: 'event', event: 'chat.removed', roomId: 'room-1', reason: 'deleted' };

describe('Delivery.toConnections', () => {
  it('builds the envelope once and posts it to every connection, counting the deliveries', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(), 4);

    const report = await delivery.toConnections(ids(10), payload);

    expect(report).toEqual({ delivered: 10, removed: 0, failed: 0 });
    expect(connections.posted.map((p) => p.connectionId).sort()).toEqual(ids(10).sort());
    expect(JSON.parse(JSON.stringify(connections.posted[0]!.payload))).toEqual(frame);
    expect(connections.posted.every((p) => p.payload === connections.posted[0]!.payload)).toBe(true);
  });

  it('an empty list posts nothing', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(), 4);

    const report = await delivery.toConnections([], payload);

    expect(report).toEqual({ delivered: 0, removed: 0, failed: 0 });
    expect(connections.posted).toHaveLength(0);
  });

  it('no more posts than the concurrency are ever in flight', async () => {
    const connections = new FakeConnections(new Map(), true);
    const delivery = new Delivery(connections, new FakeConnectionStore(), 3);

    const done = delivery.toConnections(ids(10), payload);
    await settle();
    const startedAtFirst = connections.posted.map((p) => p.connectionId);
    while (connections.pending.length > 0) {
      expect(connections.inFlight).toBeLessThanOrEqual(3);
      connections.releaseAt(0);
      await settle();
    }
    const report = await done;

    expect(startedAtFirst).toHaveLength(3);
    expect(connections.maxInFlight).toBe(3);
    expect(report).toEqual({ delivered: 10, removed: 0, failed: 0 });
  });

  it('a finished post frees its slot for the next connection', async () => {
    const connections = new FakeConnections(new Map(), true);
    const delivery = new Delivery(connections, new FakeConnectionStore(), 2);

    const done = delivery.toConnections(ids(4), payload);
    await settle();
    const before = connections.posted.length;
    connections.releaseAt(1);
    await settle();
    const after = connections.posted.length;
    while (connections.pending.length > 0) {
      connections.releaseAt(0);
      await settle();
    }
    await done;

    expect(before).toBe(2);
    expect(after).toBe(3);
  });

  it('the bound holds whatever order the posts complete in, gone and failing ones included', async () => {
    const outcomes = new Map<string, Outcome>([
      ['c3', 'gone'],
      ['c7', 'throw'],
      ['c11', 'gone'],
      ['c19', 'throw'],
    ]);
    const connections = new FakeConnections(outcomes, true);
    const store = new FakeConnectionStore(ids(25).map((id) => record(id, 'sip:alice@contoso.com')));
    const delivery = new Delivery(connections, store, 5);

    const done = delivery.toConnections(ids(25), payload);
    await settle();
    let step = 0;
    while (connections.pending.length > 0) {
      expect(connections.inFlight).toBeLessThanOrEqual(5);
      connections.releaseAt((step * 7) % connections.pending.length);
      step++;
      await settle();
    }
    const report = await done;

    expect(connections.maxInFlight).toBe(5);
    expect(connections.posted).toHaveLength(25);
    expect(report).toEqual({ delivered: 21, removed: 2, failed: 2 });
  });

  it('fewer connections than the concurrency are all posted at once', async () => {
    const connections = new FakeConnections(new Map(), true);
    const delivery = new Delivery(connections, new FakeConnectionStore(), 32);

    const done = delivery.toConnections(ids(3), payload);
    await settle();
    const inFlight = connections.inFlight;
    while (connections.pending.length > 0) connections.releaseAt(0);
    await done;

    expect(inFlight).toBe(3);
  });

  it('a concurrency of one posts strictly one at a time', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(), 1);

    await delivery.toConnections(ids(6), payload);

    expect(connections.maxInFlight).toBe(1);
    expect(connections.posted.map((p) => p.connectionId)).toEqual(ids(6));
  });

  it('gone connections are deleted from the store and counted as removed', async () => {
    const connections = new FakeConnections(
      new Map<string, Outcome>([
        ['c1', 'gone'],
        ['c3', 'gone'],
      ]),
    );
    const store = new FakeConnectionStore(ids(4).map((id) => record(id, 'sip:alice@contoso.com')));
    const delivery = new Delivery(connections, store, 2);

    const report = await delivery.toConnections(ids(4), payload);

    expect(report).toEqual({ delivered: 2, removed: 2, failed: 0 });
    expect(store.deleted.sort()).toEqual(['c1', 'c3']);
    expect([...store.records.keys()].sort()).toEqual(['c0', 'c2']);
  });

  it('a connection that connected moments ago is kept though gone: API Gateway answers 410 until its $connect returns', async () => {
    // $connect records the connection, then a fan-out posts before $connect has returned: deleting it then
    // would leave the user's open connection out of every later delivery.
    const connecting = { ...record('c1', 'sip:alice@contoso.com'), connectedAt: Date.now() - 1_000 };
    const connections = new FakeConnections(new Map<string, Outcome>([['c1', 'gone']]));
    const store = new FakeConnectionStore([record('c0', 'sip:alice@contoso.com'), connecting]);
    const delivery = new Delivery(connections, store, 2);

    const report = await delivery.toUsers(['sip:alice@contoso.com'], payload);

    expect(report).toEqual({ delivered: 1, removed: 0, failed: 0 });
    expect(store.deleted).toEqual([]);
    expect((await store.connectionIdsOf(['sip:alice@contoso.com'])).sort()).toEqual(['c0', 'c1']);
  });

  it('delivered connections are never deleted', async () => {
    const store = new FakeConnectionStore(ids(3).map((id) => record(id, 'sip:alice@contoso.com')));
    const delivery = new Delivery(new FakeConnections(), store, 2);

    await delivery.toConnections(ids(3), payload);

    expect(store.deleted).toEqual([]);
  });

  it('a throwing post counts as failed and does not stop the others', async () => {
    const connections = new FakeConnections(
      new Map<string, Outcome>([
        ['c0', 'throw'],
        ['c2', 'throw'],
      ]),
    );
    const store = new FakeConnectionStore(ids(5).map((id) => record(id, 'sip:alice@contoso.com')));
    const delivery = new Delivery(connections, store, 1);

    const report = await delivery.toConnections(ids(5), payload);

    expect(report).toEqual({ delivered: 3, removed: 0, failed: 2 });
    expect(connections.posted.map((p) => p.connectionId)).toEqual(ids(5));
    expect(store.deleted).toEqual([]);
  });

  it('when every post throws, all are counted as failed and the call still resolves', async () => {
    const connections = new FakeConnections(new Map(ids(4).map((id): [string, Outcome] => [id, 'throw'])));
    const delivery = new Delivery(connections, new FakeConnectionStore(), 2);

    await expect(delivery.toConnections(ids(4), payload)).resolves.toEqual({ delivered: 0, removed: 0, failed: 4 });
  });

  it('a gone connection whose deletion fails counts as failed, not removed', async () => {
    const connections = new FakeConnections(new Map<string, Outcome>([['c1', 'gone']]));
    const store = new FakeConnectionStore(ids(3).map((id) => record(id, 'sip:alice@contoso.com')), new Set(['c1']));
    const delivery = new Delivery(connections, store, 3);

    const report = await delivery.toConnections(ids(3), payload);

    expect(report).toEqual({ delivered: 2, removed: 0, failed: 1 });
  });
});

describe('Delivery.toUsers', () => {
  const records = [
    record('alice-desktop', 'sip:alice@contoso.com'),
    record('alice-phone', 'sip:alice@contoso.com'),
    record('bob-web', 'sip:bob@contoso.com'),
    record('carol-web', 'sip:carol@contoso.com'),
  ];

  it('posts to every connection of every listed user', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(records), 8);

    const report = await delivery.toUsers(['sip:alice@contoso.com', 'sip:bob@contoso.com'], payload);

    expect(report).toEqual({ delivered: 3, removed: 0, failed: 0 });
    expect(connections.posted.map((p) => p.connectionId).sort()).toEqual(['alice-desktop', 'alice-phone', 'bob-web']);
  });

  it("toUsers skips the excepted connection but reaches the sender's other endpoints", async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(records), 8);

    const report = await delivery.toUsers(['sip:alice@contoso.com', 'sip:bob@contoso.com'], payload, 'alice-desktop');

    expect(report.delivered).toBe(2);
    expect(connections.posted.map((p) => p.connectionId).sort()).toEqual(['alice-phone', 'bob-web']);
  });

  it('a user without connections is skipped', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(records), 8);

    const report = await delivery.toUsers(['sip:dave@contoso.com', 'sip:carol@contoso.com'], payload);

    expect(report).toEqual({ delivered: 1, removed: 0, failed: 0 });
    expect(connections.posted.map((p) => p.connectionId)).toEqual(['carol-web']);
  });

  it('no users means no posts', async () => {
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(records), 8);

    await expect(delivery.toUsers([], payload)).resolves.toEqual({ delivered: 0, removed: 0, failed: 0 });
    expect(connections.posted).toHaveLength(0);
  });

  it("a user's gone endpoint is removed from the store", async () => {
    const connections = new FakeConnections(new Map<string, Outcome>([['alice-phone', 'gone']]));
    const store = new FakeConnectionStore(records);
    const delivery = new Delivery(connections, store, 8);

    const report = await delivery.toUsers(['sip:alice@contoso.com'], payload);

    expect(report).toEqual({ delivered: 1, removed: 1, failed: 0 });
    expect(await store.listByUser('sip:alice@contoso.com')).toEqual([records[0]]);
  });

  it('fan-out to users respects the concurrency too', async () => {
    const many = Array.from({ length: 12 }, (_, i) => record(`u${i}`, `sip:user${i % 4}@contoso.com`));
    const connections = new FakeConnections();
    const delivery = new Delivery(connections, new FakeConnectionStore(many), 2);

    const report = await delivery.toUsers(['sip:user0@contoso.com', 'sip:user1@contoso.com', 'sip:user2@contoso.com', 'sip:user3@contoso.com'], payload);

    expect(report.delivered).toBe(12);
    expect(connections.maxInFlight).toBe(2);
  });
});

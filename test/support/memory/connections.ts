import { CONNECTING_GRACE_MS, type ConnectionRecord, type ConnectionStatus, type ConnectionStore, type Connections } from '../../../shared/ports';

/**
 * The connection store in memory: by id, by user, and each user's connection ids for fan-out. Held to the same
 * contract as `DynamoConnectionStore` (test/support/contracts/connection-store.contract.ts): expiry is checked by code
 * on `get` and `listByUser`; the fan-out ids are not filtered by it (delivery finds such a connection gone and deletes it).
 */
export class MemoryConnectionStore implements ConnectionStore {
  readonly records = new Map<string, ConnectionRecord>();
  /** Each user's connection ids, as the table's `USER#{uri}` / `CONNS` set. */
  private readonly idsByUser = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(record: ConnectionRecord): Promise<void> {
    this.records.set(record.connectionId, { ...record });
    const ids = this.idsByUser.get(record.uri) ?? new Set<string>();
    ids.add(record.connectionId);
    this.idsByUser.set(record.uri, ids);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.records.get(connectionId);
    return record && record.expiresAt > this.now() ? { ...record } : undefined;
  }

  async delete(connectionId: string): Promise<void> {
    const record = this.records.get(connectionId);
    this.records.delete(connectionId);
    if (record) this.idsByUser.get(record.uri)?.delete(connectionId);
  }

  async removeGone(connectionId: string): Promise<boolean> {
    const record = this.records.get(connectionId);
    if (!record || record.connectedAt >= this.now() - CONNECTING_GRACE_MS) return false;
    await this.delete(connectionId);
    return true;
  }

  async listByUser(uri: string): Promise<ConnectionRecord[]> {
    return [...this.records.values()].filter((record) => record.uri === uri && record.expiresAt > this.now()).map((record) => ({ ...record }));
  }

  async connectionIdsOf(uris: readonly string[]): Promise<string[]> {
    return [...new Set(uris)].flatMap((uri) => [...(this.idsByUser.get(uri) ?? [])]);
  }
}

/** API Gateway's management API in memory: live sockets receive posts; a connection not open is `gone`. */
export class MemoryConnections implements Connections {
  readonly open = new Map<string, ConnectionStatus>();
  readonly posted: Array<{ readonly connectionId: string; readonly frame: unknown }> = [];
  readonly disconnected: string[] = [];

  connect(connectionId: string, at = Date.now()): void {
    this.open.set(connectionId, { connectedAt: at, lastActiveAt: at });
  }

  async post(connectionId: string, payload: unknown): Promise<'delivered' | 'gone'> {
    if (!this.open.has(connectionId)) return 'gone';
    this.posted.push({ connectionId, frame: JSON.parse(JSON.stringify(payload)) });
    return 'delivered';
  }

  async status(connectionId: string): Promise<ConnectionStatus | undefined> {
    return this.open.get(connectionId);
  }

  async disconnect(connectionId: string): Promise<void> {
    this.open.delete(connectionId);
    this.disconnected.push(connectionId);
  }
}

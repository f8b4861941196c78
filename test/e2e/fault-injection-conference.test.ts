import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { FaultHandle, FaultRequest, FaultRule } from '../../infra/local/faults';
import { systemClock } from '../../shared/adapters/clock';
import { COMPLIANCE_SHARDS } from '../../shared/adapters/compliance-store-dynamodb';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
import type { ComplianceEvent } from '../../shared/compliance/event';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { type TestClient, waitFor } from '../support/client';

/**
 * Issue 16, items 3, 4 and 9, under faults injected into the real SDK clients (the local cloud's FaultInjector):
 * conference joins and leaves whose queue send fails are acknowledged at once and archived exactly once by the
 * export's outbox sweep, whether or not the client retries; a deactivation archives a leave for everyone it
 * removes; a participant whose connection is gone (GetConnection: 410) leaves the roster and the archive says so.
 * "No acknowledged action missing from the archive, none twice."
 */
const EXPORT_SECONDS = 2;
const SLOW = 30_000;
let cloud: TestCloud;
let exportDir: string;
const handles: FaultHandle[] = [];

beforeAll(async () => {
  exportDir = await mkdtemp(join(tmpdir(), 'uc-conf-archive-'));
  cloud = await startTestCloud({
    env: { COMPLIANCE_EXPORT_SECONDS: String(EXPORT_SECONDS), COMPLIANCE_EXPORT_DIR: exportDir, SQS_REQUEST_TIMEOUT_MS: '2500' },
    complianceVisibilitySeconds: 1,
  });
});
afterEach(() => cloud.cloud.faults.clear());
afterAll(async () => {
  expect(handles.reduce((sum, handle) => sum + handle.hits, 0)).toBe(cloud.cloud.faults.total);
  await cloud.stop();
  await rm(exportDir, { recursive: true, force: true });
});

function inject(rule: FaultRule): FaultHandle {
  const handle = cloud.cloud.faults.inject(rule);
  handles.push(handle);
  return handle;
}

const bodyHas = (part: string) => (request: FaultRequest) => request.body.includes(part);

let userSeq = 0;
function users(...names: string[]): string[] {
  userSeq++;
  return names.map((name) => `sip:${name}${userSeq}@contoso.com`);
}

async function ok(client: TestClient, action: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const response = await client.request(action, args, SLOW);
  if (response.status !== 200) throw new Error(`${action} answered ${response.status}: ${JSON.stringify(response.error)}`);
  return response.body!;
}

interface Archived {
  readonly id: string;
  readonly type: string;
  readonly actor: string;
  readonly targetId: string;
  readonly reason?: string;
}

/** Every event in every XML file of the archive, repeats included. */
async function archive(): Promise<Archived[]> {
  const events: Archived[] = [];
  for (const file of (await readdir(exportDir)).filter((name) => name.endsWith('.xml'))) {
    const xml = await readFile(join(exportDir, file), 'utf8');
    for (const [, id, type, body] of xml.matchAll(/<event id="([^"]*)" type="([^"]*)"[^>]*>([\s\S]*?)<\/event>/g)) {
      const reason = /<detail name="reason"[^>]*>([^<]*)<\/detail>/.exec(body!)?.[1];
      events.push({
        id: id!,
        type: type!,
        actor: /<actor uri="([^"]*)"/.exec(body!)?.[1] ?? '',
        targetId: /<target kind="[^"]*" id="([^"]*)"/.exec(body!)?.[1] ?? '',
        ...(reason === undefined ? {} : { reason }),
      });
    }
  }
  return events;
}

/** Nothing of the conference is left to export (not pending, not in the outbox, no batch in flight); answers its archived events. */
async function settledArchive(confId: string, expected: number): Promise<Archived[]> {
  const table = cloud.cloud.config.TABLE_NAME;
  const left = async (prefix: string) => {
    const pages = await Promise.all(
      Array.from({ length: COMPLIANCE_SHARDS }, (_, shard) =>
        dynamoDocumentClient().send(
          new QueryCommand({ TableName: table, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `${prefix}#${shard}` }, ConsistentRead: true }),
        ),
      ),
    );
    return pages.flatMap((page) => page.Items ?? []).filter((item) => (item.event as ComplianceEvent).target.id === confId);
  };
  return waitFor(
    `the conference's ${expected} events in the archive, nothing left to export`,
    async () => {
      const { Item } = await dynamoDocumentClient().send(new GetCommand({ TableName: table, Key: { PK: 'CEXPORT', SK: 'STATE' }, ConsistentRead: true }));
      const archived = (await archive()).filter((event) => event.targetId === confId);
      const done = archived.length >= expected && (await left('CPEND')).length === 0 && (await left('OUTBOX')).length === 0 && Item?.inFlight === undefined;
      return done ? archived : undefined;
    },
    SLOW,
  );
}

/** Each id once: none twice. */
function expectOnceEach(events: readonly Archived[]): void {
  expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
}

async function meeting(organizer: TestClient): Promise<string> {
  return String((await ok(organizer, 'conf.schedule', { subject: 'archive under faults', admission: 'anyone' })).confId);
}

test('item 3: SendMessage fails on every join and leave of a meeting: each is acknowledged at once, never retried, and archived exactly once by the sweep', async () => {
  const [alice, bob] = users('alice', 'bob');
  const aliceClient = await cloud.connect(alice!);
  const bobClient = await cloud.connect(bob!);
  const confId = await meeting(aliceClient);
  const fault = inject({ service: 'sqs', operation: 'SendMessage', match: bodyHas(confId), fault: { status: 500, type: 'InternalError' }, times: Infinity });

  expect(await ok(aliceClient, 'conf.join', { confId })).toMatchObject({ state: 'joined' });
  expect(await ok(bobClient, 'conf.join', { confId })).toMatchObject({ state: 'joined' });
  expect(await ok(bobClient, 'conf.leave', { confId })).toEqual({ left: true });
  expect(fault.hits).toBeGreaterThanOrEqual(3);
  cloud.cloud.faults.clear();

  const archived = await settledArchive(confId, 3);
  expect(archived.map((event) => [event.type, event.actor]).sort()).toEqual(
    [
      ['conf.join', alice],
      ['conf.join', bob],
      ['conf.leave', bob],
    ].sort(),
  );
  expectOnceEach(archived);
}, SLOW * 3);

test('item 4: a retried leave and a deactivation under a failing queue: one conf.leave per participant, with its reason, none twice', async () => {
  const [alice, bob, guest] = users('alice', 'bob', 'guest');
  const aliceClient = await cloud.connect(alice!);
  const bobClient = await cloud.connect(bob!);
  const guestClient = await cloud.connect(guest!, 'anonymous');
  const confId = await meeting(aliceClient);
  for (const client of [aliceClient, bobClient, guestClient]) await ok(client, 'conf.join', { confId });
  inject({ service: 'sqs', operation: 'SendMessage', match: bodyHas(confId), fault: { status: 500, type: 'InternalError' }, times: Infinity });

  expect(await ok(bobClient, 'conf.leave', { confId })).toEqual({ left: true });
  // The client retries anyway (it lost the answer): nothing to do, nothing archived twice.
  expect(await ok(bobClient, 'conf.leave', { confId })).toEqual({ left: false });
  expect(await ok(aliceClient, 'conf.end', { confId })).toEqual({ deactivated: true });
  cloud.cloud.faults.clear();

  const archived = await settledArchive(confId, 6);
  const leaves = archived.filter((event) => event.type === 'conf.leave');
  expect(leaves.map((event) => [event.actor, event.reason]).sort()).toEqual(
    [
      [alice, 'ended'],
      [bob, 'left'],
      [guest, 'ended'],
    ].sort(),
  );
  expect(archived.filter((event) => event.type === 'conf.join')).toHaveLength(3);
  expectOnceEach(archived);
}, SLOW * 3);

test('item 9: a participant whose connection is gone (GetConnection: 410) is not in the roster and leaves with connectionLost', async () => {
  const [alice, carol] = users('alice', 'carol');
  const aliceClient = await cloud.connect(alice!);
  const carolClient = await cloud.connect(carol!);
  const confId = await meeting(aliceClient);
  await ok(aliceClient, 'conf.join', { confId });
  await ok(carolClient, 'conf.join', { confId });
  const [carolConnection] = await new DynamoConnectionStore(dynamoDocumentClient(), cloud.cloud.config.TABLE_NAME, systemClock).connectionIdsOf([carol!]);
  // Carol's socket is gone without a `$disconnect`: API Gateway answers 410 for it.
  inject({ service: 'management', operation: 'GetConnection', match: (request) => request.resource === carolConnection, fault: { status: 410, type: 'GoneException' }, times: Infinity });

  const state = await ok(aliceClient, 'conf.get', { confId });
  expect((state.roster as { uri: string }[]).map((entry) => entry.uri)).toEqual([alice]);
  expect(state.active).toMatchObject({ participantCount: 1 });
  await aliceClient.nextEvent('conf.roster', (event) => event.change === 'left' && (event.participant as { uri: string }).uri === carol);
  cloud.cloud.faults.clear();

  const archived = await settledArchive(confId, 3);
  expect(archived.filter((event) => event.type === 'conf.leave').map((event) => [event.actor, event.reason])).toEqual([[carol, 'connectionLost']]);
  expectOnceEach(archived);
}, SLOW * 3);

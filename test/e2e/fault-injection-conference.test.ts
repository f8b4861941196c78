import type { FaultRule } from '../../infra/local/faults';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { type ArchivedEvent, type ArchivingCloud, bodyHas, nothingLeftToExport, readArchive, startArchivingCloud } from '../support/archive';
import type { TestCloud } from '../support/cloud';
import { type TestClient, waitFor } from '../support/client';
import { ok as okWithin } from '../support/commands';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * Issue 16, items 3, 4 and 9, under faults injected into the real SDK clients (the local cloud's FaultInjector):
 * conference joins and leaves whose queue send fails are acknowledged at once and archived exactly once by the
 * export's outbox sweep, whether or not the client retries; a deactivation archives a leave for everyone it
 * removes; a participant whose connection is gone (GetConnection: 410) leaves the roster and the archive says so.
 * "No acknowledged action missing from the archive, none twice."
 */
const EXPORT_SECONDS = 2;
const SLOW = 30_000;
let archiving: ArchivingCloud;
let cloud: TestCloud;

beforeAll(async () => {
  archiving = await startArchivingCloud('conf-archive', { exportSeconds: EXPORT_SECONDS, env: { SQS_REQUEST_TIMEOUT_MS: '2500' } });
  cloud = archiving.cloud;
});
afterEach(() => cloud.cloud.faults.clear());
afterAll(() => archiving.stop());

const inject = (rule: FaultRule) => archiving.inject(rule);
const ok = (client: TestClient, action: string, args: Record<string, unknown> = {}) => okWithin(client, action, args, SLOW);
type Archived = ArchivedEvent;

/** Nothing of the conference is left to export (not pending, not in the outbox, no batch in flight); answers its archived events. */
async function settledArchive(confId: string, expected: number): Promise<Archived[]> {
  return waitFor(
    `the conference's ${expected} events in the archive, nothing left to export`,
    async () => {
      const archived = (await readArchive(archiving.exportDir)).filter((event) => event.targetId === confId);
      const done = archived.length >= expected && (await nothingLeftToExport(cloud, (event) => event.target.id === confId));
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
  const [carolConnection] = await new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock).connectionIdsOf([carol!]);
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

import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../infra/local/dynamodb';
import type { Identity } from '../../shared/auth/identity';
import { DynamoConferenceStore } from '../../shared/adapters/conference-store-dynamodb';
import type { Conference } from '../../shared/conference/conference';
import { ConferenceService } from '../../shared/conference/service';
import { newId } from '../../shared/ids';
import type { TimerRequest } from '../../shared/ports';

/**
 * Races on the real store (DynamoDB Local) with a clock the test moves: commands and timers that run at
 * the same moment must leave a consistent conference, whichever wins each conditional write.
 */
const GRACE = 1_200_000;
let store: DynamoConferenceStore;
let now = 1_800_000_000_000;
const armed: TimerRequest[] = [];
const posted: { connectionId: string; payload: unknown }[] = [];
let service: ConferenceService;

const user = (name: string, kind: Identity['kind'] = 'enterprise'): Identity => ({ uri: `sip:${name}@contoso.com`, kind, name, device: 'desktop' });

beforeAll(async () => {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? process.env.DYNAMODB_LOCAL_ENDPOINT;
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const tableName = `uc-race-${randomUUID().slice(0, 8)}`;
  await ensureTable(raw, tableName);
  store = new DynamoConferenceStore(DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), tableName);
  service = new ConferenceService({
    store,
    delivery: {
      toConnections: async (connectionIds, payload) => {
        for (const connectionId of connectionIds) posted.push({ connectionId, payload });
        return { delivered: connectionIds.length, removed: 0, failed: 0 };
      },
    },
    timers: { arm: async (timer) => void armed.push(timer), cancel: async () => undefined, recurring: async () => undefined },
    compliance: { publish: async () => undefined, publishOutboxed: async () => undefined },
    connections: { status: async () => ({ connectedAt: 0, lastActiveAt: 0 }) },
    clock: { now: () => now },
    durations: { emptyGraceMs: GRACE, noEnterpriseMs: 5_400_000, noJoinMs: 86_400_000, expiryMs: 1_209_600_000, contentGraceMs: 1_296_000_000 },
    homeDomain: 'contoso.com',
    webAppUrl: 'http://localhost:3001',
    newId,
  });
});

async function emptyConference(): Promise<{ confId: string; instance: string }> {
  const { confId } = await service.schedule(user('organizer'), {
    subject: 'race',
    admission: 'anyone',
    autoPromote: 'organization',
    pstnLobbyBypass: true,
    invitees: [],
    presenters: [],
    static: false,
  });
  const joined = await service.join(user('alice'), `alice-${confId}`, confId);
  await service.leave(user('alice'), confId);
  if (joined.state !== 'joined') throw new Error('alice should have joined');
  return { confId, instance: joined.activationInstance };
}

async function consistent(confId: string): Promise<Conference> {
  const conference = (await store.get(confId))!;
  const participants = conference.active ? await store.participants(confId, conference.active.activationInstance) : [];
  expect(conference.active?.participantCount ?? 0).toBe(participants.length);
  expect(conference.active?.enterpriseCount ?? 0).toBe(participants.filter((p) => p.kind === 'enterprise').length);
  return conference;
}

test('a join arriving while the empty-deactivation timer fires leaves a consistent state', async () => {
  for (let round = 0; round < 8; round++) {
    const { confId, instance } = await emptyConference();
    now += GRACE + 1;
    const [outcome] = await Promise.all([
      service.onDeactivationTimer('empty', { rule: 'conference.empty', subject: `${confId}/${instance}`, version: 1 }),
      service.join(user('bob'), `bob-${confId}`, confId),
    ]);
    const conference = await consistent(confId);
    // Whoever won, bob is in an active conference: the same activation (timer lost) or a new one (timer won).
    expect(conference.state).toBe('active');
    expect((await store.participants(confId, conference.active!.activationInstance)).map((p) => p.uri)).toEqual(['sip:bob@contoso.com']);
    expect(conference.active!.activationInstance === instance).toBe(outcome === 'ignored');
  }
});

test('a timer fired twice at once acts once', async () => {
  const { confId, instance } = await emptyConference();
  now += GRACE + 1;
  const firing = { rule: 'conference.empty', subject: `${confId}/${instance}`, version: 1 };
  const outcomes = await Promise.all([service.onDeactivationTimer('empty', firing), service.onDeactivationTimer('empty', firing)]);
  expect(outcomes.sort()).toEqual(['acted', 'ignored']);
  expect((await store.get(confId))).toMatchObject({ state: 'deactivated', stateVersion: expect.any(Number), lastDeactivationReason: 'empty' });
});

test('concurrent joins are all counted, once each', async () => {
  const { confId } = await emptyConference();
  const people = Array.from({ length: 12 }, (_, n) => user(`person${n}`, n % 3 === 0 ? 'federated' : 'enterprise'));
  await Promise.all(people.map((person) => service.join(person, `${person.name}-${confId}`, confId)));
  const conference = await consistent(confId);
  expect(conference.active!.participantCount).toBe(12);
});

test('the empty timer is re-armed, not acted on, before the grace period is over', async () => {
  const { confId, instance } = await emptyConference();
  const before = armed.length;
  now += GRACE / 2;
  expect(await service.onDeactivationTimer('empty', { rule: 'conference.empty', subject: `${confId}/${instance}`, version: 1 })).toBe('rearmed');
  expect(armed.slice(before)).toEqual([expect.objectContaining({ rule: 'conference.empty', subject: `${confId}/${instance}`, at: now + GRACE / 2 })]);
  expect((await store.get(confId))?.state).toBe('active');
});

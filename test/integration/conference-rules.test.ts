import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../infra/local/dynamodb';
import type { Identity } from '../../shared/auth/identity';
import { DynamoComplianceOutbox } from '../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoConferenceStore } from '../../shared/adapters/conference-store-dynamodb';
import type { ComplianceEvent } from '../../shared/compliance/event';
import { CompliancePublisher } from '../../shared/compliance/publisher';
import { type Conference, deactivate } from '../../shared/conference/conference';
import { type ConferenceDependencies, ConferenceService } from '../../shared/conference/service';
import { newId } from '../../shared/ids';
import type { TimerRequest } from '../../shared/ports';
import { scheduleName } from '../../shared/timers/schedule-names';

/**
 * Issue 16, the conference items, on the real store (DynamoDB Local) with a clock the test moves and ports
 * that fail on demand: the queue (items 3, 4), the Scheduler (item 8), the management API's GetConnection (item 9).
 */
const GRACE = 1_200_000;
const NO_ENTERPRISE = 5_400_000;
const NO_JOIN = 86_400_000;
let store: DynamoConferenceStore;
let outbox: DynamoComplianceOutbox;
let now = 1_800_000_000_000;
const armed: TimerRequest[] = [];
const sent: ComplianceEvent[] = [];
const posted: { connectionId: string; payload: unknown }[] = [];
const gone = new Set<string>();
let queueFails = false;
let armFails = false;
/** Runs once, inside the delivery of the next `conf.deactivated` (between the deactivation's commit and its clean-up). */
let duringDeactivated: (() => Promise<void>) | undefined;
let service: ConferenceService;

const user = (name: string, kind: Identity['kind'] = 'enterprise', domain = 'contoso.com'): Identity => ({ uri: `sip:${name}@${domain}`, kind, name, device: 'desktop' });
const olga = user('olga');

function makeService(conferenceStore: DynamoConferenceStore): ConferenceService {
  const deps = {
    store: conferenceStore,
    delivery: {
      toConnections: async (connectionIds: readonly string[], payload: unknown) => {
        for (const connectionId of connectionIds) posted.push({ connectionId, payload });
        if ((payload as { event?: string }).event === 'conf.deactivated' && duringDeactivated) {
          const hook = duringDeactivated;
          duringDeactivated = undefined;
          await hook();
        }
        return { delivered: connectionIds.length, removed: 0, failed: 0 };
      },
    },
    timers: {
      arm: async (timer: TimerRequest) => {
        if (armFails) throw new Error('Scheduler unavailable');
        armed.push(timer);
      },
      cancel: async () => undefined,
      recurring: async () => undefined,
    },
    compliance: new CompliancePublisher(
      {
        send: async (body: unknown) => {
          if (queueFails) throw new Error('SQS unavailable');
          sent.push(body as ComplianceEvent);
        },
      },
      outbox,
    ),
    connections: { status: async (connectionId: string) => (gone.has(connectionId) ? undefined : { connectedAt: 0, lastActiveAt: 0 }) },
    clock: { now: () => now },
    durations: { emptyGraceMs: GRACE, noEnterpriseMs: NO_ENTERPRISE, noJoinMs: NO_JOIN, expiryMs: 1_209_600_000, contentGraceMs: 1_296_000_000 },
    homeDomain: 'contoso.com',
    webAppUrl: 'http://localhost:3001',
    newId,
  } satisfies ConferenceDependencies;
  return new ConferenceService(deps);
}

let tableName: string;
let doc: DynamoDBDocumentClient;
beforeAll(async () => {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? process.env.DYNAMODB_LOCAL_ENDPOINT;
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  tableName = `uc-confrules-${randomUUID().slice(0, 8)}`;
  await ensureTable(raw, tableName);
  doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  store = new DynamoConferenceStore(doc, tableName);
  outbox = new DynamoComplianceOutbox(doc, tableName);
  service = makeService(store);
});
afterEach(() => {
  queueFails = false;
  armFails = false;
  duringDeactivated = undefined;
  now += 1000;
});

async function schedule(overrides: Record<string, unknown> = {}): Promise<string> {
  const { confId } = await service.schedule(olga, {
    subject: 'rules',
    admission: 'anyone',
    autoPromote: 'organization',
    pstnLobbyBypass: true,
    invitees: [],
    presenters: [],
    static: false,
    ...overrides,
  });
  return confId;
}

async function joined(identity: Identity, connectionId: string, confId: string) {
  const result = await service.join(identity, connectionId, confId);
  if (result.state !== 'joined') throw new Error(`${identity.uri} should have joined`);
  return result;
}

/** What the archive will hold for the conference: events sent, and events the export's sweep takes from the outbox, once each by id. */
async function archivable(confId: string, type?: ComplianceEvent['type']): Promise<ComplianceEvent[]> {
  const waiting = await outbox.due(Number.MAX_SAFE_INTEGER, 1000);
  const byId = new Map<string, ComplianceEvent>();
  for (const event of [...sent, ...waiting]) if (event.target.id === confId && (!type || event.type === type)) byId.set(event.eventId, event);
  return [...byId.values()];
}

async function inOutbox(confId: string): Promise<ComplianceEvent[]> {
  return (await outbox.due(Number.MAX_SAFE_INTEGER, 1000)).filter((event) => event.target.id === confId);
}

async function consistent(confId: string): Promise<Conference> {
  const conference = (await store.get(confId))!;
  const participants = conference.active ? await store.participants(confId, conference.active.activationInstance) : [];
  expect(conference.active?.participantCount ?? 0).toBe(participants.length);
  expect(conference.active?.enterpriseCount ?? 0).toBe(participants.filter((p) => p.kind === 'enterprise').length);
  return conference;
}

describe('item 3: conference join and leave have the transactional outbox', () => {
  test('a join and a leave whose queue send fails are acknowledged; their events were written with the change and wait in the outbox', async () => {
    const confId = await schedule();
    queueFails = true;
    const alice = user(`alice-${randomUUID().slice(0, 4)}`);
    await expect(service.join(alice, 'c-alice', confId)).resolves.toMatchObject({ state: 'joined' });
    await expect(service.leave(alice, confId)).resolves.toEqual({ left: true });
    expect((await inOutbox(confId)).map((event) => event.type).sort()).toEqual(['conf.join', 'conf.leave']);
  });

  test('a confirmed send clears the outbox item', async () => {
    const confId = await schedule();
    const alice = user('alice');
    await joined(alice, 'c-alice', confId);
    await service.leave(alice, confId);
    expect(sent.filter((event) => event.target.id === confId).map((event) => event.type)).toEqual(['conf.join', 'conf.leave']);
    expect(await inOutbox(confId)).toEqual([]);
  });
});

describe('item 4: leave events have stable ids, and a deactivation archives a leave for everyone it removes', () => {
  test("a retried leave after a failed send: one conf.leave, its id from the activation, the participant and the join time", async () => {
    const confId = await schedule();
    const alice = user('alice');
    const { activationInstance } = await joined(alice, 'c-alice', confId);
    const joinedAt = (await store.participant(confId, alice.uri))!.joinedAt;
    queueFails = true;
    await service.leave(alice, confId).catch(() => undefined);
    queueFails = false;
    await service.leave(alice, confId);
    const leaves = await archivable(confId, 'conf.leave');
    expect(leaves.map((event) => event.eventId)).toEqual([`conf.leave:${confId}:${activationInstance}:${alice.uri}:${joinedAt}`]);
  });

  test.each(['ended', 'noEnterprise'] as const)('participants removed by a deactivation (%s) get conf.leave with that reason', async (reason) => {
    const confId = await schedule();
    const alice = user('alice');
    const guest = user('guest', 'anonymous', 'guest.example');
    const { activationInstance } = await joined(alice, 'c-alice', confId);
    await joined(guest, 'c-guest', confId);
    if (reason === 'ended') {
      await service.end(alice, confId);
    } else {
      await service.leave(alice, confId);
      now += NO_ENTERPRISE + 1;
      expect(await service.onDeactivationTimer('noEnterprise', { rule: 'conference.noEnterprise', subject: `${confId}/${activationInstance}`, version: 1 })).toBe('acted');
    }
    const removed = (await archivable(confId, 'conf.leave')).filter((event) => event.details?.reason === reason);
    expect(removed.map((event) => event.actor.uri).sort()).toEqual(reason === 'ended' ? [alice.uri, guest.uri].sort() : [guest.uri]);
  });
});

test('item 6: a rejoin during deactivation keeps its participant record (clean-up only touches the old activation)', async () => {
  const confId = await schedule();
  const alice = user('alice');
  await joined(alice, 'c-alice-1', confId);
  duringDeactivated = async () => {
    await joined(alice, 'c-alice-2', confId);
  };
  await service.end(alice, confId);
  const conference = await consistent(confId);
  expect(conference.state).toBe('active');
  expect(conference.active!.participantCount).toBe(1);
  expect((await store.participants(confId, conference.active!.activationInstance)).map((p) => p.connectionIds)).toEqual([['c-alice-2']]);
  expect(await store.conferencesOfConnection('c-alice-2')).toEqual([confId]);
});

test('item 6: a rejoin from the same connection during deactivation keeps its participant record and its link', async () => {
  const confId = await schedule();
  const alice = user('alice');
  await joined(alice, 'c-alice-same', confId);
  duringDeactivated = async () => {
    await joined(alice, 'c-alice-same', confId);
  };
  await service.end(alice, confId);
  const conference = await consistent(confId);
  expect(conference.active!.participantCount).toBe(1);
  expect(await store.conferencesOfConnection('c-alice-same')).toEqual([confId]);
});

describe('item 7: a deletion that loses a race with a deactivation is retried until deleted is committed', () => {
  /** A store whose first deleting commit finds the conference deactivated by someone else just before it. */
  function racingStore(): DynamoConferenceStore {
    const racing = Object.create(store) as DynamoConferenceStore;
    let raced = false;
    racing.commit = async (next, seenVersion, ...rest) => {
      if (!raced && next.state === 'deleted') {
        raced = true;
        const current = (await store.get(next.confId))!;
        if (current.state === 'active') expect(await store.commit(deactivate(current, 'ended', now), current.stateVersion)).toBe(true);
      }
      return store.commit(next, seenVersion, ...(rest as []));
    };
    return racing;
  }

  test('conf.delete', async () => {
    const racingService = makeService(racingStore());
    const confId = await schedule();
    await joined(user('alice'), 'c-alice', confId);
    await expect(racingService.delete(olga, confId)).resolves.toEqual({ deleted: true });
    expect((await store.get(confId))!.state).toBe('deleted');
  });

  test('admin.deleteUser', async () => {
    const racingService = makeService(racingStore());
    const organizer = user(`org-${randomUUID().slice(0, 6)}`);
    const { confId } = await service.schedule(organizer, { subject: 's', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: false });
    await joined(user('alice'), 'c-alice', confId);
    await racingService.deleteUser(user('root', 'admin'), organizer.uri);
    expect((await store.get(confId))!.state).toBe('deleted');
  });
});

describe('item 8: a timer whose arming fails is never lost', () => {
  test('a leave whose empty-rule timer cannot be armed: the retry arms it', async () => {
    const confId = await schedule();
    const alice = user('alice');
    const { activationInstance } = await joined(alice, 'c-alice', confId);
    armFails = true;
    await expect(service.leave(alice, confId)).rejects.toThrow();
    armFails = false;
    const before = armed.length;
    await service.leave(alice, confId);
    expect(armed.slice(before)).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'conference.empty', subject: `${confId}/${activationInstance}` })]));
    expect((await consistent(confId)).active!.participantCount).toBe(0);
  });

  test('conf.end whose content-purge and expiry timers cannot be armed: the retry arms them', async () => {
    const confId = await schedule();
    const alice = user('alice');
    await joined(alice, 'c-alice', confId);
    armFails = true;
    await expect(service.end(alice, confId)).rejects.toThrow();
    armFails = false;
    const before = armed.length;
    await service.end(alice, confId);
    expect(armed.slice(before).map((timer) => timer.rule).sort()).toEqual(['conference.contentPurge', 'conference.expiry']);
    expect((await store.get(confId))!.state).toBe('deactivated');
  });
});

describe('item 9: participants whose connections are gone are removed as if they left', () => {
  test('when a rule timer fires', async () => {
    const confId = await schedule();
    const ghost = user('ghost');
    const { activationInstance } = await joined(ghost, 'c-ghost', confId);
    await joined(user('fed', 'federated', 'fabrikam.com'), 'c-fed', confId);
    gone.add('c-ghost');
    now += NO_JOIN / 2;
    await service.onDeactivationTimer('inactivity', { rule: 'conference.inactivity', subject: `${confId}/${activationInstance}`, version: 1 });
    expect(await store.participant(confId, ghost.uri)).toBeUndefined();
    expect((await consistent(confId)).active).toMatchObject({ participantCount: 1, enterpriseCount: 0 });
    // The 90-minute rule now counts from the ghost's removal.
    expect(armed).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'conference.noEnterprise', at: now + NO_ENTERPRISE })]));
    expect((await archivable(confId, 'conf.leave')).map((event) => [event.actor.uri, event.details?.reason])).toEqual([[ghost.uri, 'connectionLost']]);
  });

  test('when the roster is read', async () => {
    const confId = await schedule();
    const ghost = user('ghost');
    await joined(ghost, 'c-ghost2', confId);
    await joined(user('bob'), 'c-bob', confId);
    gone.add('c-ghost2');
    const state = await service.get(olga, confId);
    expect(state.roster?.map((entry) => entry.uri)).toEqual([user('bob').uri]);
    expect(state.active?.participantCount).toBe(1);
    expect(await consistent(confId)).toMatchObject({ active: { participantCount: 1 } });
  });
});

test("item 10: a re-armed conference timer never reuses the name of the schedule that is firing", async () => {
  const confId = await schedule();
  const alice = user('alice');
  await joined(alice, 'c-alice', confId);
  await service.leave(alice, confId);
  const empty = armed.filter((timer) => timer.rule === 'conference.empty' && timer.subject.startsWith(`${confId}/`)).at(-1)!;
  const before = armed.length;
  now += GRACE / 2;
  expect(await service.onDeactivationTimer('empty', empty)).toBe('rearmed');
  const [rearmed] = armed.slice(before);
  expect(rearmed).toMatchObject({ rule: 'conference.empty', subject: empty.subject });
  expect(scheduleName(rearmed!)).not.toBe(scheduleName(empty));

  // The expiry and content-purge re-arms likewise.
  now += GRACE;
  await service.onDeactivationTimer('empty', rearmed!);
  const purge = armed.filter((timer) => timer.rule === 'conference.contentPurge' && timer.subject.startsWith(`${confId}/`)).at(-1)!;
  const beforePurge = armed.length;
  expect(await service.onContentPurgeTimer(purge)).toBe('rearmed');
  expect(scheduleName(armed[beforePurge]!)).not.toBe(scheduleName(purge));
  const expiry = armed.filter((timer) => timer.rule === 'conference.expiry' && timer.subject === confId).at(-1)!;
  const beforeExpiry = armed.length;
  expect(await service.onExpiryTimer(expiry)).toBe('rearmed');
  expect(scheduleName(armed[beforeExpiry]!)).not.toBe(scheduleName(expiry));
});

describe('item 12: locked meetings and hidden participants', () => {
  test("a participant's second device enters a locked meeting it already belongs to", async () => {
    const confId = await schedule();
    const bob = user('bob');
    await joined(olga, 'c-olga', confId);
    await joined(bob, 'c-bob-desktop', confId);
    await service.update(olga, confId, { locked: true });
    await expect(service.join({ ...bob, device: 'mobile' }, 'c-bob-mobile', confId)).resolves.toMatchObject({ state: 'joined' });
    await expect(service.join(user('carol'), 'c-carol', confId)).rejects.toThrow('locked');
    expect((await consistent(confId)).active!.participantCount).toBe(2);
  });

  test('conf.get counts no hidden trusted participant', async () => {
    const confId = await schedule();
    await joined(user('bob'), 'c-bob', confId);
    await joined(user('recorder', 'application'), 'c-bot', confId);
    expect((await service.get(user('outsider', 'federated', 'fabrikam.com'), confId)).active?.participantCount).toBe(1);
    expect((await service.get(olga, confId)).active?.participantCount).toBe(1);
  });
});

describe("item 13: a user's static meeting space", () => {
  test('static: true answers the same meeting space every time', async () => {
    const owner = user(`owner-${randomUUID().slice(0, 6)}`);
    const first = await service.schedule(owner, { subject: 'my space', admission: 'organization', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true });
    const second = await service.schedule(owner, { subject: 'my space', admission: 'organization', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true });
    expect(second).toEqual(first);
    expect((await service.get(owner, first.confId)).static).toBe(true);
  });

  test('reset gives the space a new id; the old one answers 410', async () => {
    const owner = user(`owner-${randomUUID().slice(0, 6)}`);
    const base = { subject: 'my space', admission: 'organization', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true } as const;
    const first = await service.schedule(owner, base);
    const reset = await service.schedule(owner, { ...base, reset: true } as typeof base);
    expect(reset.confId).not.toBe(first.confId);
    await expect(service.get(owner, first.confId)).rejects.toMatchObject({ status: 410 });
    expect(await service.schedule(owner, base)).toEqual(reset);
  });

  test('a retried reset (same clientId) answers the same new space and resets nothing again', async () => {
    const owner = user(`owner-${randomUUID().slice(0, 6)}`);
    const base = { subject: 'my space', admission: 'organization', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true } as const;
    await service.schedule(owner, base);
    const reset = await service.schedule(owner, { ...base, reset: true, clientId: 'reset-1' } as typeof base);
    expect(await service.schedule(owner, { ...base, reset: true, clientId: 'reset-1' } as typeof base)).toEqual(reset);
    expect((await service.get(owner, reset.confId)).state).toBe('scheduled');
  });
});

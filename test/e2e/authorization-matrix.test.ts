import type { IdentityKind } from '../../shared/auth/identity';
import { startTestCloud, type TestCloud } from '../support/cloud';
import type { TestClient } from '../support/client';

/**
 * The authorization matrix (issue 11): identity kind × command, and membership × command, each cell the
 * answer docs/protocol.md documents. Tokens that are forged, expired, `alg: none`, malformed or signed with
 * another secret are refused at the upgrade: test/e2e/gateway.test.ts ("connect: the token is verified").
 */

let cloud: TestCloud;
const clients = new Map<IdentityKind, TestClient>();

/** One user per kind; a PSTN caller and an anonymous guest come from outside the home domain's directory. */
const users: Record<IdentityKind, string> = {
  enterprise: 'sip:erin@contoso.com',
  federated: 'sip:fred@fabrikam.com',
  anonymous: 'sip:guest-7@anonymous.invalid',
  pstn: 'sip:+14255550100@pstn.invalid',
  application: 'sip:bot@contoso.com',
  admin: 'sip:root@contoso.com',
};
const kinds = Object.keys(users) as IdentityKind[];
const target = 'sip:tess@contoso.com';

beforeAll(async () => {
  cloud = await startTestCloud();
  for (const kind of kinds) clients.set(kind, await cloud.connect(users[kind], kind));
  await cloud.connect(target);
});
afterAll(async () => {
  await cloud.stop();
});

const ALLOWED = 200;
const FORBIDDEN = 403;
/** The expected status for each kind, in `kinds` order. */
const only = (...allowed: IdentityKind[]) => Object.fromEntries(kinds.map((kind) => [kind, allowed.includes(kind) ? ALLOWED : FORBIDDEN])) as Record<IdentityKind, number>;

const byKind: { command: string; args: () => Record<string, unknown>; expected: Record<IdentityKind, number> }[] = [
  { command: 'conf.schedule', args: () => ({ subject: 'matrix' }), expected: only('enterprise') },
  { command: 'admin.deleteUser', args: () => ({ uri: 'sip:nobody@contoso.com' }), expected: only('admin') },
  { command: 'admin.category.put', args: () => ({ category: 'matrix-defined', creators: ['*'] }), expected: only('admin') },
  { command: 'im.send', args: () => ({ to: target, text: 'hello' }), expected: only('enterprise', 'federated', 'application', 'admin') },
  { command: 'presence.subscribe', args: () => ({ targets: [target] }), expected: only('enterprise', 'federated', 'application', 'admin') },
  // mayCreateRoomIn: in a category with no definition, enterprise users and admins of HOME_DOMAIN.
  { command: 'room.create', args: () => ({ name: 'matrix room', category: 'matrix-undefined' }), expected: only('enterprise', 'admin') },
];

const kindCells = byKind.flatMap(({ command, args, expected }) => kinds.map((kind) => ({ command, args, kind, status: expected[kind] })));

describe('identity kind × command', () => {
  test.each(kindCells)('$command by $kind → $status', async ({ command, args, kind, status }) => {
    const response = await clients.get(kind)!.request(command, args());
    expect(response.status).toBe(status);
    if (status === FORBIDDEN) expect(response.error?.code).toBe('Forbidden');
  });
});

describe('membership × command', () => {
  let manager: TestClient;
  let member: TestClient;
  let outsider: TestClient;
  let secretRoomId: unknown;

  beforeAll(async () => {
    manager = await cloud.connect('sip:mona@contoso.com');
    member = await cloud.connect('sip:mick@contoso.com');
    outsider = await cloud.connect('sip:olga@contoso.com');
    const created = await manager.request('room.create', { name: 'matrix secret', privacy: 'secret', members: ['sip:mick@contoso.com'] });
    expect(created.status).toBe(200);
    secretRoomId = created.body!.roomId;
  });

  const roomCells: { cell: string; who: () => TestClient; command: string; args: () => Record<string, unknown>; status: number }[] = [
    { cell: 'secret room history by its manager', who: () => manager, command: 'chat.bccontext', args: () => ({ roomId: secretRoomId }), status: 200 },
    { cell: 'secret room history by a member', who: () => member, command: 'chat.bccontext', args: () => ({ roomId: secretRoomId }), status: 200 },
    // A secret room is not revealed: 404, exactly as for a room that does not exist.
    { cell: 'secret room history by a non-member', who: () => outsider, command: 'chat.bccontext', args: () => ({ roomId: secretRoomId }), status: 404 },
    { cell: 'secret room join by a non-member', who: () => outsider, command: 'chat.join', args: () => ({ roomId: secretRoomId }), status: 404 },
    { cell: 'room.update by a member', who: () => member, command: 'room.update', args: () => ({ roomId: secretRoomId, description: 'by a member' }), status: 403 },
    { cell: 'room.update by a non-member', who: () => outsider, command: 'room.update', args: () => ({ roomId: secretRoomId, description: 'by an outsider' }), status: 404 },
    { cell: 'room.update by its manager', who: () => manager, command: 'room.update', args: () => ({ roomId: secretRoomId, description: 'by the manager' }), status: 200 },
  ];

  test.each(roomCells)('$cell → $status', async ({ who, command, args, status }) => {
    expect((await who().request(command, args())).status).toBe(status);
  });

  describe('an active conference', () => {
    let presenter: TestClient;
    let attendee: TestClient;
    let confId: unknown;

    beforeAll(async () => {
      const organizer = await cloud.connect('sip:olaf@contoso.com');
      presenter = await cloud.connect('sip:pia@contoso.com');
      attendee = await cloud.connect('sip:adam@contoso.com');
      const scheduled = await organizer.request('conf.schedule', { subject: 'matrix', autoPromote: 'scheduledPresenters', presenters: ['sip:pia@contoso.com'] });
      confId = scheduled.body!.confId;
      expect((await presenter.request('conf.join', { confId })).body).toMatchObject({ state: 'joined', role: 'presenter' });
      expect((await attendee.request('conf.join', { confId })).body).toMatchObject({ state: 'joined', role: 'attendee' });
    });

    test('conf.end by an attendee → 403', async () => {
      expect((await attendee.request('conf.end', { confId })).status).toBe(403);
    });

    test('conf.end by a presenter → 200, and everyone is removed', async () => {
      expect((await presenter.request('conf.end', { confId })).status).toBe(200);
      await attendee.nextEvent('conf.deactivated', (event) => event.confId === confId && event.reason === 'ended');
    });
  });
});

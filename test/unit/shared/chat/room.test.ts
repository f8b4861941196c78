import type { Identity } from '../../../../shared/auth/identity';
import {
  applyRoomChanges,
  assertVisible,
  associationsOf,
  canJoinRoom,
  canManageRoom,
  canPostInRoom,
  canReadRoom,
  canSeeRoom,
  inviteToRoom,
  mayCreateRoomIn,
  newRoom,
  type Room,
  type RoomDefinition,
  roleIn,
} from '../../../../shared/chat/room';
import { BadRequestError, NotFoundError } from '../../../../shared/errors';

const identity = (uri: string, kind: Identity['kind'] = 'enterprise'): Identity => ({ uri, kind, name: uri, device: 'desktop' });
const alice = identity('sip:alice@contoso.com');
const BOB = 'sip:bob@contoso.com';
const EVE = 'sip:eve@contoso.com';
const definition = (overrides: Partial<RoomDefinition> = {}): RoomDefinition => ({
  name: 'Room',
  description: '',
  category: 'general',
  privacy: 'open',
  type: 'normal',
  members: [],
  managers: [],
  presenters: [],
  ...overrides,
});
const room = (overrides: Partial<RoomDefinition> = {}): Room => newRoom('r1', alice, definition(overrides), 1_000);

describe('newRoom: the creator is a manager and a member', () => {
  test('the creator holds both roles; managers and presenters are members too; URIs are lower-cased once each', () => {
    const created = room({ members: ['sip:Bob@contoso.com', BOB], presenters: ['sip:carol@contoso.com'] });
    expect(created.managers).toEqual([alice.uri]);
    expect(created.members).toEqual([BOB, alice.uri, 'sip:carol@contoso.com']);
    expect(created).toMatchObject({ createdBy: alice.uri, version: 1, lastSeq: 0 });
    expect(roleIn(created, alice.uri)).toBe('manager');
    expect(associationsOf(created, 'sip:carol@contoso.com')).toEqual(['member', 'presenter']);
  });
});

describe('privacy: open rooms for anyone, closed rooms joined by members, secret rooms seen by members only', () => {
  test.each([
    ['open', true, true],
    ['closed', true, false],
    ['secret', false, false],
  ] as const)('%s room: a non-member sees it %s and joins it %s', (privacy, sees, joins) => {
    const subject = room({ privacy, members: [BOB] });
    expect(canSeeRoom(subject, EVE)).toBe(sees);
    expect(canJoinRoom(subject, EVE)).toBe(joins);
    expect(canReadRoom(subject, EVE)).toBe(joins);
    expect([canSeeRoom(subject, BOB), canJoinRoom(subject, BOB)]).toEqual([true, true]);
  });

  test('assertVisible answers 404 for a secret room to a non-member, as for a room that does not exist', () => {
    const secret = room({ privacy: 'secret' });
    expect(() => assertVisible(secret, EVE, 'r1')).toThrow(new NotFoundError('no room r1'));
    expect(() => assertVisible(undefined, EVE, 'r1')).toThrow(new NotFoundError('no room r1'));
    expect(assertVisible(secret, alice.uri, 'r1')).toBe(secret);
  });
});

describe('auditorium: only presenters post', () => {
  test('in an auditorium a presenter posts; members and even managers do not', () => {
    const auditorium = room({ type: 'auditorium', presenters: [BOB], members: [EVE] });
    expect(canPostInRoom(auditorium, BOB)).toBe(true);
    expect(canPostInRoom(auditorium, EVE)).toBe(false);
    expect(canPostInRoom(auditorium, alice.uri)).toBe(false);
  });

  test('in a normal room whoever may join may post', () => {
    expect(canPostInRoom(room({ privacy: 'open' }), EVE)).toBe(true);
    expect(canPostInRoom(room({ privacy: 'closed' }), EVE)).toBe(false);
  });
});

describe('management: only managers manage, and a room keeps a manager', () => {
  test('canManageRoom holds for managers only', () => {
    const subject = room({ members: [BOB] });
    expect(canManageRoom(subject, alice.uri)).toBe(true);
    expect(canManageRoom(subject, BOB)).toBe(false);
  });

  test('applyRoomChanges changes the given fields, keeps managers members, and bumps the version', () => {
    const changed = applyRoomChanges(room(), { name: 'New', privacy: 'secret', managers: [BOB] });
    expect(changed).toMatchObject({ name: 'New', privacy: 'secret', managers: [BOB], version: 2, lastSeq: 0 });
    expect(changed.members).toEqual(expect.arrayContaining([alice.uri, BOB]));
  });

  test('removing every manager is refused', () => {
    expect(() => applyRoomChanges(room(), { managers: [] })).toThrow(BadRequestError);
  });

  test('inviteToRoom makes the invitees members and reports only the new ones', () => {
    const { room: invited, invited: uris } = inviteToRoom(room({ members: [BOB] }), [BOB, 'sip:Eve@contoso.com']);
    expect(uris).toEqual([EVE]);
    expect(canJoinRoom({ ...invited, privacy: 'closed' }, EVE)).toBe(true);
  });
});

describe('mayCreateRoomIn: a category lists its creators; without a definition any enterprise user may', () => {
  const HOME = 'contoso.com';
  test('no definition: enterprise users and admins of the home domain, nobody else', () => {
    expect(mayCreateRoomIn(undefined, alice, HOME)).toBe(true);
    expect(mayCreateRoomIn(undefined, identity('sip:root@contoso.com', 'admin'), HOME)).toBe(true);
    expect(mayCreateRoomIn(undefined, identity('sip:partner@fabrikam.com', 'federated'), HOME)).toBe(false);
    expect(mayCreateRoomIn(undefined, identity('sip:guest@contoso.com', 'anonymous'), HOME)).toBe(false);
  });

  test('a definition admits listed URIs, listed domains, or everyone with *', () => {
    const partner = identity('sip:partner@fabrikam.com', 'federated');
    expect(mayCreateRoomIn({ category: 'c', creators: ['SIP:Alice@contoso.com'] }, alice, HOME)).toBe(true);
    expect(mayCreateRoomIn({ category: 'c', creators: ['fabrikam.com'] }, partner, HOME)).toBe(true);
    expect(mayCreateRoomIn({ category: 'c', creators: ['fabrikam.com'] }, alice, HOME)).toBe(false);
    expect(mayCreateRoomIn({ category: 'c', creators: ['*'] }, partner, HOME)).toBe(true);
    expect(mayCreateRoomIn({ category: 'c', creators: [] }, alice, HOME)).toBe(false);
  });
});

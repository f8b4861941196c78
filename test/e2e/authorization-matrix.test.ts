import { SignJWT } from 'jose';
import { type IdentityKind, identityKinds } from '../../shared/auth/identity';
import { inParallel } from '../../shared/concurrency';
import { requireJwtSecret } from '../../shared/config';
import { type Action, commandSchemas } from '../../shared/protocol/commands';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { type ResponseFrame, type TestClient, upgradeStatus } from '../support/client';

/**
 * The authorization matrix (issue 11): every command × every identity kind × every membership the command's
 * thing has, each cell the answer SPEC.md and docs/protocol.md ("Who may do what") give. The expectations in
 * `rows` are written from those rules, not from the code. A command without a row fails the first test, so a
 * new command is covered the day it is added.
 *
 * Cells run once, in `beforeAll`, with bounded parallelism; each test then checks one cell's recorded answer.
 * Read-only cells share fixtures (a room of each kind, a conference, a conversation); a cell that changes or
 * destroys its thing (`room.update`, `room.delete`, `conf.end`, `admin.deleteUser`, `im.leave`, ...) builds its
 * own, so no cell depends on another.
 *
 * Tokens: no token, another secret, expired, `alg: none`, malformed and an unknown `kind` are refused with 401
 * at the upgrade in test/e2e/gateway.test.ts ("connect: the token is verified at the upgrade"); the cases it
 * does not have (a tampered payload under a valid signature, another HMAC algorithm, no `exp`) are at the end.
 */

const kinds = identityKinds;
const HOME = 'contoso.com';
const domains: Record<IdentityKind, string> = {
  enterprise: HOME,
  federated: 'fabrikam.com',
  anonymous: 'anonymous.invalid',
  pstn: 'pstn.invalid',
  application: HOME,
  admin: HOME,
};
const run = Math.random().toString(36).slice(2, 8);
/** A user of this kind for this part of the matrix (one connection each, opened on first use). */
const uri = (kind: IdentityKind, tag: string) => `sip:${tag}-${kind}-${run}@${domains[kind]}`;
const OWNER = uri('enterprise', 'owner');
const ORGANIZER = uri('enterprise', 'organizer');
const ANCHOR = uri('enterprise', 'anchor');
const WAITER = uri('federated', 'waiter');
const OPENER = uri('enterprise', 'opener');
/** Writes the message a fresh room's `chat.retract` cell acts on (a presenter of that room, so it posts in an auditorium too). */
const AUTHOR = uri('enterprise', 'author');
/** Watchable by every kind (outside HOME_DOMAIN), and a user of HOME_DOMAIN. */
const PARTNER = `sip:partner-${run}@fabrikam.com`;
const COLLEAGUE = `sip:tess-${run}@${HOME}`;

// ---------------------------------------------------------------------------------------------------------
// Relations: what the caller is to the thing the command acts on.

type RoomKind = 'open' | 'closed' | 'secret' | 'auditorium';
type RoomRole = 'manager' | 'presenter' | 'member' | 'non-member';
/** A participant who left (`im.leave`) stays a participant of the conversation they left: they may read it. */
type Participation = 'participant' | 'participant who left' | 'non-participant';
const participations: readonly Participation[] = ['participant', 'participant who left', 'non-participant'];
type ConfRelation = 'organizer' | 'scheduled presenter, not joined' | 'presenter' | 'attendee' | 'non-participant';
const roomKinds: readonly RoomKind[] = ['open', 'closed', 'secret', 'auditorium'];
const roomRoles: readonly RoomRole[] = ['manager', 'presenter', 'member', 'non-member'];
const confRelations: readonly ConfRelation[] = ['organizer', 'scheduled presenter, not joined', 'presenter', 'attendee', 'non-participant'];

type Relation =
  | { area: 'none' }
  | { area: 'room'; room: RoomKind; role: RoomRole }
  | { area: 'conference'; relation: ConfRelation }
  | { area: 'conversation'; participant: Participation }
  | { area: 'subscription'; owner: boolean };

const roomTag: Record<RoomRole, string> = { manager: 'manager', presenter: 'presenter', member: 'member', 'non-member': 'outsider' };
const confTag: Record<ConfRelation, string> = {
  organizer: 'organizer',
  'scheduled presenter, not joined': 'scheduled',
  presenter: 'speaker',
  attendee: 'attendee',
  'non-participant': 'outsider',
};

function describeRelation(relation: Relation): string {
  switch (relation.area) {
    case 'none':
      return '';
    case 'room':
      return relation.role === 'non-member' ? `non-member of ${article(relation.room)} ${relation.room} room` : `${relation.role} of ${article(relation.room)} ${relation.room} room`;
    case 'conference':
      return `${relation.relation} of an active conference`;
    case 'conversation':
      return `${relation.participant} of the conversation`;
    case 'subscription':
      return relation.owner ? "the subscription's owner" : "someone else's subscription";
  }
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** The caller's URI for a cell. */
function callerOf(kind: IdentityKind, relation: Relation): string {
  switch (relation.area) {
    case 'none':
      return uri(kind, 'caller');
    case 'room':
      return uri(kind, roomTag[relation.role]);
    case 'conference':
      return relation.relation === 'organizer' ? ORGANIZER : uri(kind, confTag[relation.relation]);
    case 'conversation':
      return uri(kind, { participant: 'participant', 'participant who left': 'leaver', 'non-participant': 'outsider' }[relation.participant]);
    case 'subscription':
      return uri(kind, relation.owner ? 'watcher' : 'outsider');
  }
}

// ---------------------------------------------------------------------------------------------------------
// The expectation table.

interface Expected {
  readonly status: number;
  /** What the answer shows besides its status, when the rule says more (a role, whether a room is listed). */
  readonly detail?: string;
  readonly check?: (response: ResponseFrame) => void;
}

const ok = (detail?: string, check?: (response: ResponseFrame) => void): Expected => ({ status: 200, detail, check });
const forbidden: Expected = { status: 403 };
const notFound: Expected = { status: 404 };
const gone: Expected = { status: 410 };
const only =
  (...allowed: IdentityKind[]) =>
  (kind: IdentityKind): Expected =>
    allowed.includes(kind) ? ok() : forbidden;

/** The fixture a cell acts on, and its own caller. */
interface CellContext {
  readonly caller: TestClient;
  readonly callerUri: string;
  readonly kind: IdentityKind;
  readonly roomId: string;
  readonly fileId: string;
  readonly roomName: string;
  readonly confId: string;
  readonly conversationId: string;
  readonly subscriptionId: string;
  /** The message `chat.edit` / `chat.retract` / `im.edit` / `im.retract` act on. */
  readonly messageId: string;
  readonly unique: string;
}

interface Row {
  readonly action: Action;
  readonly variant?: string;
  readonly area: Relation['area'];
  /** Builds its own thing for each cell (the command changes or destroys it). */
  readonly fresh?: boolean;
  readonly args: (context: CellContext) => Record<string, unknown>;
  readonly expect: (kind: IdentityKind, relation: Relation) => Expected;
}

/** The room rules (docs/protocol.md, persistent chat, "Who may do what"). */
function roomRules(relation: Relation) {
  if (relation.area !== 'room') throw new Error('not a room cell');
  const { room, role } = relation;
  const member = role !== 'non-member';
  const privacy = room === 'auditorium' ? 'open' : room;
  const auditorium = room === 'auditorium';
  // `secret`: to anyone but its members every command on it answers 404, as for a room that does not exist.
  const visible = privacy !== 'secret' || member;
  // `open`: anyone joins, reads and posts; `closed` and `secret`: members only.
  const mayRead = privacy === 'open' || member;
  // `auditorium`: only presenters post, managers included.
  const mayPost = mayRead && (!auditorium || role === 'presenter');
  const manager = role === 'manager';
  const hidden = (expected: Expected): Expected => (visible ? expected : notFound);
  return { visible, mayRead, mayPost, manager, role, hidden };
}

const joinRole: Record<RoomRole, string> = { manager: 'manager', presenter: 'presenter', member: 'member', 'non-member': 'visitor' };

function confRules(kind: IdentityKind, relation: Relation) {
  if (relation.area !== 'conference') throw new Error('not a conference cell');
  const r = relation.relation;
  const inMeeting = r === 'presenter' || r === 'attendee';
  // "a presenter": the organizer, or a participant whose role is presenter.
  const presenter = r === 'organizer' || r === 'presenter';
  // conf.update: the organizer, a scheduled presenter, or a presenter in the meeting.
  const mayUpdate = presenter || r === 'scheduled presenter, not joined';
  // The roster and content: participants, the organizer, admins.
  const mayReadRoster = inMeeting || r === 'organizer' || kind === 'admin';
  return { r, inMeeting, presenter, mayUpdate, mayReadRoster };
}

/**
 * conf.join under the fixture's policy (admission `invited`, autoPromote `scheduledPresenters`, PSTN lobby
 * bypass on): the organizer and trusted applications always enter; PSTN callers enter (bypass); invitees and
 * scheduled presenters enter; everyone else waits in the lobby. The organizer and scheduled presenters are
 * presenters, everyone else an attendee.
 */
function confJoin(kind: IdentityKind, relation: Relation): Expected {
  const { r, inMeeting } = confRules(kind, relation);
  const presenterRole = r === 'organizer' || r === 'presenter' || r === 'scheduled presenter, not joined';
  const enters = inMeeting || presenterRole || kind === 'application' || kind === 'pstn';
  if (!enters) return ok('waits in the lobby', (response) => expect(response.body).toMatchObject({ state: 'lobby' }));
  const role = presenterRole ? 'presenter' : 'attendee';
  return ok(`joined as ${role}`, (response) => expect(response.body).toMatchObject({ state: 'joined', role }));
}

const anyone = () => ok();

function participation(relation: Relation): Participation {
  if (relation.area !== 'conversation') throw new Error('not a conversation cell');
  return relation.participant;
}

const rows: readonly Row[] = [
  // Anyone, whoever they are.
  { action: 'ping', area: 'none', args: () => ({}), expect: anyone },
  { action: 'chat.getserverinfo', area: 'none', args: () => ({}), expect: anyone },
  { action: 'chat.getassociations', area: 'none', args: () => ({ role: 'member' }), expect: anyone },
  { action: 'chat.getinv', area: 'none', args: () => ({}), expect: anyone },
  // SPEC §9: whoever holds an invitation declines it (every kind may be invited); without one, 404.
  { action: 'chat.declineinv', variant: 'an invitation held', area: 'none', args: ({ roomId }) => ({ roomId }), expect: anyone },
  { action: 'chat.declineinv', variant: 'no invitation', area: 'none', args: () => ({ roomId: `room_never_${run}` }), expect: () => notFound },
  { action: 'session.resume', area: 'none', args: () => ({}), expect: anyone },
  // Issue 22 item 3: one's own conversations and IM since a moment, whoever one is.
  { action: 'session.resume', variant: 'with imSince', area: 'none', args: () => ({ imSince: 0 }), expect: anyone },
  { action: 'im.conversations', area: 'none', args: () => ({}), expect: anyone },
  { action: 'presence.publish', variant: 'own presence', area: 'none', args: () => ({ availability: 'busy', note: 'matrix' }), expect: anyone },
  { action: 'presence.refresh', variant: "all of the connection's", area: 'none', args: () => ({}), expect: anyone },

  // By identity kind.
  { action: 'conf.schedule', area: 'none', args: () => ({ subject: 'matrix' }), expect: only('enterprise') },
  {
    action: 'admin.deleteUser',
    area: 'none',
    fresh: true,
    args: ({ unique }) => ({ uri: unique }),
    expect: (kind) => (kind === 'admin' ? ok('its one conference deleted', (response) => expect(response.body).toEqual({ conferences: 1 })) : forbidden),
  },
  { action: 'admin.category.put', area: 'none', args: ({ unique }) => ({ category: `cat-${unique}`, creators: ['*'] }), expect: only('admin') },
  {
    action: 'room.create',
    variant: 'in a category with no definition',
    area: 'none',
    args: () => ({ name: 'matrix room', category: `undefined-${run}` }),
    // Enterprise users (and admins) of HOME_DOMAIN.
    expect: only('enterprise', 'admin'),
  },
  {
    action: 'room.create',
    variant: 'in a category whose creators are fabrikam.com and one PSTN caller',
    area: 'none',
    args: () => ({ name: 'matrix room', category: `partners-${run}` }),
    // The category's creators only: admins are not creators here.
    expect: only('federated', 'pstn'),
  },
  { action: 'room.create', variant: 'in a category open to *', area: 'none', args: () => ({ name: 'matrix room', category: `everyone-${run}` }), expect: anyone },
  {
    action: 'im.send',
    variant: 'opening a conversation',
    area: 'none',
    args: () => ({ to: COLLEAGUE, text: 'hello' }),
    // Anonymous guests and PSTN callers may not open IM conversations.
    expect: only('enterprise', 'federated', 'application', 'admin'),
  },
  {
    action: 'presence.subscribe',
    variant: 'to a user of HOME_DOMAIN',
    area: 'none',
    args: () => ({ targets: [COLLEAGUE] }),
    expect: only('enterprise', 'federated', 'application', 'admin'),
  },
  { action: 'presence.subscribe', variant: 'to a partner outside HOME_DOMAIN', area: 'none', args: () => ({ targets: [PARTNER] }), expect: anyone },

  // Rooms: privacy, type, and the caller's role.
  {
    action: 'chat.chansrch',
    area: 'room',
    args: ({ roomName }) => ({ query: roomName }),
    expect: (_kind, relation) => {
      const { visible } = roomRules(relation);
      return ok(visible ? 'finds it' : 'does not find it', (response) => {
        const found = (response.body!.rooms as { name: string }[]).some((room) => room.name === (relationRoomName(relation) ?? ''));
        expect(found).toBe(visible);
      });
    },
  },
  {
    action: 'chat.join',
    area: 'room',
    args: ({ roomId }) => ({ roomId }),
    expect: (_kind, relation) => {
      const { mayRead, hidden, role } = roomRules(relation);
      return hidden(mayRead ? ok(`as ${joinRole[role]}`, (response) => expect(response.body).toMatchObject({ role: joinRole[role], followed: true })) : forbidden);
    },
  },
  {
    action: 'chat.bjoin',
    area: 'room',
    args: ({ roomId }) => ({ roomIds: [roomId] }),
    expect: (_kind, relation) => {
      const { mayRead, visible } = roomRules(relation);
      const inner = !visible ? 404 : mayRead ? 200 : 403;
      return ok(`the room ${inner}`, (response) => expect((response.body!.rooms as { status: number }[])[0]!.status).toBe(inner));
    },
  },
  { action: 'chat.part', area: 'room', args: ({ roomId }) => ({ roomId }), expect: (_kind, relation) => roomRules(relation).hidden(ok()) },
  {
    action: 'chat.bccontext',
    area: 'room',
    args: ({ roomId }) => ({ roomId }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayRead ? ok() : forbidden),
  },
  {
    // SPEC §9: who is here needs the right to read the room.
    action: 'chat.occupants',
    area: 'room',
    args: ({ roomId }) => ({ roomId }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayRead ? ok() : forbidden),
  },
  {
    action: 'chat.search',
    area: 'room',
    args: ({ roomId }) => ({ roomId, query: 'hello' }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayRead ? ok() : forbidden),
  },
  {
    action: 'chat.grpchat',
    area: 'room',
    args: ({ roomId }) => ({ roomId, text: 'hello from the matrix' }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayPost ? ok() : forbidden),
  },
  {
    // SPEC §9: only the author edits, while they may post; the shared room's message is its enterprise presenter's.
    action: 'chat.edit',
    variant: "the enterprise presenter's message",
    area: 'room',
    args: ({ roomId, messageId }) => ({ roomId, messageId, text: 'edited by the matrix' }),
    expect: (kind, relation) => {
      const { hidden, mayPost, role } = roomRules(relation);
      return hidden(mayPost && kind === 'enterprise' && role === 'presenter' ? ok('the author') : forbidden);
    },
  },
  {
    // SPEC §9: its author or a manager retracts; here the message is another user's (AUTHOR), so managers only.
    action: 'chat.retract',
    variant: "someone else's message",
    area: 'room',
    fresh: true,
    args: ({ roomId, messageId }) => ({ roomId, messageId }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).manager ? ok() : forbidden),
  },
  {
    // SPEC §9: a read marker needs the right to read the room; seq 1 of a room with fewer messages is capped at its latest.
    action: 'chat.markread',
    area: 'room',
    args: ({ roomId }) => ({ roomId, seq: 1 }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayRead ? ok() : forbidden),
  },
  {
    action: 'chat.file.upload',
    area: 'room',
    args: ({ roomId }) => ({ roomId, fileName: 'matrix.txt', size: 3, contentType: 'text/plain' }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayPost ? ok() : forbidden),
  },
  {
    action: 'chat.file.download',
    area: 'room',
    args: ({ fileId }) => ({ fileId }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).mayRead ? ok() : forbidden),
  },
  {
    action: 'room.update',
    area: 'room',
    fresh: true,
    args: ({ roomId }) => ({ roomId, description: 'changed by the matrix' }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).manager ? ok() : forbidden),
  },
  {
    action: 'room.invite',
    area: 'room',
    fresh: true,
    args: ({ roomId, unique }) => ({ roomId, uris: [unique] }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).manager ? ok() : forbidden),
  },
  {
    action: 'room.delete',
    area: 'room',
    fresh: true,
    args: ({ roomId }) => ({ roomId }),
    expect: (_kind, relation) => roomRules(relation).hidden(roomRules(relation).manager ? ok() : forbidden),
  },

  // Conferences: the Focus's roles.
  {
    action: 'conf.get',
    area: 'conference',
    args: ({ confId }) => ({ confId }),
    expect: (kind, relation) => {
      const { mayReadRoster } = confRules(kind, relation);
      return ok(mayReadRoster ? 'with the roster' : 'without the roster', (response) => expect('roster' in response.body!).toBe(mayReadRoster));
    },
  },
  { action: 'conf.join', area: 'conference', fresh: true, args: ({ confId }) => ({ confId }), expect: confJoin },
  {
    action: 'conf.leave',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId }),
    // A participant leaves; anyone else is told they were not in it.
    expect: (kind, relation) => {
      const left = confRules(kind, relation).inMeeting;
      return ok(`left: ${left}`, (response) => expect(response.body).toEqual({ left }));
    },
  },
  {
    action: 'conf.update',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId, pstnLobbyBypass: false }),
    expect: (kind, relation) => (confRules(kind, relation).mayUpdate ? ok() : forbidden),
  },
  { action: 'conf.end', area: 'conference', fresh: true, args: ({ confId }) => ({ confId }), expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden) },
  {
    action: 'conf.delete',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId }),
    expect: (kind, relation) => (confRules(kind, relation).r === 'organizer' ? ok() : forbidden),
  },
  {
    action: 'conf.admit',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId, uri: WAITER }),
    expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden),
  },
  {
    action: 'conf.deny',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId, uri: WAITER }),
    expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden),
  },
  {
    action: 'conf.content.add',
    area: 'conference',
    args: ({ confId }) => ({ confId, title: 'matrix', kind: 'link', body: 'https://example.com/matrix' }),
    expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden),
  },
  {
    action: 'conf.content.list',
    area: 'conference',
    args: ({ confId }) => ({ confId }),
    expect: (kind, relation) => (confRules(kind, relation).mayReadRoster ? ok() : forbidden),
  },
  // SPEC §9: a presenter's controls (the anchor, an invited enterprise user, is the one acted on); meeting IM for the
  // participants in it now (the organizer and a scheduled presenter who have not joined are not).
  {
    action: 'conf.eject',
    area: 'conference',
    fresh: true,
    args: ({ confId }) => ({ confId, uri: ANCHOR }),
    expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden),
  },
  {
    // The shared conference: promoting the anchor again changes nothing (`changed: false`), and nothing else depends on its role.
    action: 'conf.role',
    area: 'conference',
    args: ({ confId }) => ({ confId, uri: ANCHOR, role: 'presenter' }),
    expect: (kind, relation) => (confRules(kind, relation).presenter ? ok() : forbidden),
  },
  {
    action: 'conf.message',
    area: 'conference',
    args: ({ confId }) => ({ confId, text: 'matrix' }),
    expect: (kind, relation) => (confRules(kind, relation).inMeeting ? ok() : forbidden),
  },
  {
    action: 'conf.messages',
    area: 'conference',
    args: ({ confId }) => ({ confId }),
    expect: (kind, relation) => (confRules(kind, relation).inMeeting ? ok() : forbidden),
  },

  {
    // Anyone lists their own meetings: the organizer, scheduled presenters and invitees find the meeting (the organizer,
    // who schedules every fixture, may find it on a later page), no one else does (SPEC §9).
    action: 'conf.list',
    area: 'conference',
    args: () => ({ limit: 50 }),
    expect: (_kind, relation) => {
      const r = confRules(_kind, relation).r;
      const listed = r !== 'non-participant';
      return ok(listed ? 'lists the meeting' : 'does not list the meeting', (response) => {
        const meetings = (response.body!.meetings as Array<{ confId: string; organizer: string }>) ?? [];
        const found = meetings.some((meeting) => meeting.confId === sharedConfId);
        if (r === 'organizer') expect(found || (response.body!.cursor !== undefined && meetings.every((meeting) => meeting.organizer === ORGANIZER))).toBe(true);
        else expect(found).toBe(listed);
      });
    },
  },

  // Conversations: only participants (of every kind: anonymous and PSTN users take part when others open it with them).
  // A participant who left may read it; for them it has ended: a message opens a new one, typing and keep-alive are 410.
  {
    action: 'im.send',
    variant: 'on a conversation',
    area: 'conversation',
    args: ({ conversationId }) => ({ conversationId, text: 'hello' }),
    expect: (_kind, relation) =>
      ({
        participant: ok('on it', (response) => expect(response.body).toMatchObject({ newConversation: false })),
        'participant who left': ok('opens a new one', (response) => expect(response.body!.previousConversationId).toEqual(expect.any(String))),
        'non-participant': forbidden,
      })[participation(relation)],
  },
  {
    action: 'im.typing',
    area: 'conversation',
    args: ({ conversationId }) => ({ conversationId }),
    expect: (_kind, relation) => ({ participant: ok(), 'participant who left': gone, 'non-participant': forbidden })[participation(relation)],
  },
  {
    action: 'im.keepalive',
    area: 'conversation',
    args: ({ conversationId }) => ({ conversationId }),
    expect: (_kind, relation) => ({ participant: ok(), 'participant who left': gone, 'non-participant': forbidden })[participation(relation)],
  },
  {
    action: 'im.history',
    area: 'conversation',
    args: ({ conversationId }) => ({ conversationId }),
    expect: (_kind, relation) => ({ participant: ok(), 'participant who left': ok(), 'non-participant': forbidden })[participation(relation)],
  },
  // SPEC §9: only the author edits or retracts an IM, and a participant who left still may (they still read it).
  ...(['im.edit', 'im.retract'] as const).flatMap((action): Row[] => [
    {
      action,
      variant: 'own message',
      area: 'conversation',
      fresh: true,
      args: ({ conversationId, messageId }) => ({ conversationId, messageId, ...(action === 'im.edit' ? { text: 'edited by the matrix' } : {}) }),
      // A non-participant has no message of their own in it: the one acted on is the opener's.
      expect: (_kind, relation) => ({ participant: ok(), 'participant who left': ok(), 'non-participant': forbidden })[participation(relation)],
    },
    {
      action,
      variant: "the opener's message",
      area: 'conversation',
      args: ({ conversationId, messageId }) => ({ conversationId, messageId, ...(action === 'im.edit' ? { text: 'edited by the matrix' } : {}) }),
      expect: () => forbidden,
    },
  ]),
  // Issue 22 item 3: a participant (one who left included: they still read it) moves their own read marker.
  {
    action: 'im.markread',
    area: 'conversation',
    args: ({ conversationId, messageId }) => ({ conversationId, messageId }),
    expect: (_kind, relation) => ({ participant: ok(), 'participant who left': ok(), 'non-participant': forbidden })[participation(relation)],
  },
  {
    action: 'im.leave',
    area: 'conversation',
    fresh: true,
    args: ({ conversationId }) => ({ conversationId }),
    expect: (_kind, relation) => {
      const ended = ok('ended for the caller', (response) => expect(response.body).toEqual({ ended: true }));
      return { participant: ended, 'participant who left': ended, 'non-participant': forbidden }[participation(relation)];
    },
  },

  // Presence subscriptions: only the owner refreshes, extends or ends one.
  {
    action: 'presence.subscribe',
    variant: 'adding to a subscription',
    area: 'subscription',
    fresh: true,
    args: ({ subscriptionId }) => ({ subscriptionId, targets: [`sip:other-${run}@fabrikam.com`] }),
    expect: (_kind, relation) => (relation.area === 'subscription' && relation.owner ? ok() : forbidden),
  },
  {
    action: 'presence.refresh',
    variant: 'one subscription',
    area: 'subscription',
    fresh: true,
    args: ({ subscriptionId }) => ({ subscriptionId }),
    expect: (_kind, relation) => (relation.area === 'subscription' && relation.owner ? ok() : forbidden),
  },
  {
    action: 'presence.unsubscribe',
    area: 'subscription',
    fresh: true,
    args: ({ subscriptionId }) => ({ subscriptionId }),
    expect: (_kind, relation) => (relation.area === 'subscription' && relation.owner ? ok() : forbidden),
  },
];

function relationsOf(area: Relation['area'], kind: IdentityKind): Relation[] {
  switch (area) {
    case 'none':
      return [{ area }];
    case 'room':
      return roomKinds.flatMap((room) => roomRoles.map((role) => ({ area, room, role })));
    case 'conference':
      // Only enterprise users schedule, so only they organize.
      return confRelations.filter((relation) => relation !== 'organizer' || kind === 'enterprise').map((relation) => ({ area, relation }));
    case 'conversation':
      return participations.map((participant) => ({ area, participant }));
    case 'subscription':
      return [true, false].map((owner) => ({ area, owner }));
  }
}

interface Cell {
  readonly name: string;
  readonly row: Row;
  readonly kind: IdentityKind;
  readonly relation: Relation;
  readonly expected: Expected;
  readonly index: number;
}

const cells: Cell[] = rows.flatMap((row) =>
  kinds.flatMap((kind) =>
    relationsOf(row.area, kind).map((relation) => {
      const expected = row.expect(kind, relation);
      const subject = [kind, describeRelation(relation)].filter(Boolean).join(' · ');
      const outcome = `${expected.status}${expected.detail ? `, ${expected.detail}` : ''}`;
      return { row, kind, relation, expected, name: `${row.action}${row.variant ? ` (${row.variant})` : ''} · ${subject} → ${outcome}` };
    }),
  ),
).map((cell, index) => ({ ...cell, index }));

// ---------------------------------------------------------------------------------------------------------
// Fixtures.

let cloud: TestCloud;
const connections = new Map<string, Promise<TestClient>>();

function kindOfUri(user: string): IdentityKind {
  const kind = kinds.find((candidate) => user.includes(`-${candidate}-${run}@`));
  if (!kind) throw new Error(`no kind in ${user}`);
  return kind;
}

/** The user's connection, opened on first use (with the kind its URI names). */
function client(user: string): Promise<TestClient> {
  let connection = connections.get(user);
  if (!connection) {
    connection = cloud.connect(user, kindOfUri(user));
    connections.set(user, connection);
  }
  return connection;
}

async function must(user: string, action: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await (await client(user)).request(action, args, 30_000);
  if (response.status !== 200) throw new Error(`fixture ${action} by ${user}: ${response.status} ${JSON.stringify(response.error)}`);
  return response.body!;
}

interface SharedRoom {
  readonly roomId: string;
  readonly name: string;
  readonly fileId: string;
  /** Its enterprise presenter's message. */
  readonly messageId: string;
}
const sharedRooms = new Map<RoomKind, SharedRoom>();
let sharedConfId = '';
let sharedConversationId = '';
let leftConversationId = '';
/** The opener's first message of each. */
let sharedConversationMessageId = '';
let leftConversationMessageId = '';

function relationRoomName(relation: Relation): string | undefined {
  return relation.area === 'room' ? sharedRooms.get(relation.room)?.name : undefined;
}

function roomDefinition(room: RoomKind, lists: { managers: string[]; presenters: string[]; members: string[] }, name: string) {
  return { name, privacy: room === 'auditorium' ? 'open' : room, type: room === 'auditorium' ? 'auditorium' : 'normal', ...lists };
}

/** Each role of the room held by the users of that role, of every kind (or by the one caller, for a fresh room). */
function roomLists(users: readonly { kind: IdentityKind; role: RoomRole }[]) {
  const of = (role: RoomRole) => users.filter((user) => user.role === role).map((user) => uri(user.kind, roomTag[role]));
  return { managers: of('manager'), presenters: of('presenter'), members: of('member') };
}

/** A conference as the fixture's policy has it, and every participant of `joiners` in it. */
async function conference(relation: { presenters: string[]; invitees: string[]; joiners: string[]; organizer?: string }): Promise<string> {
  const scheduled = await must(relation.organizer ?? ORGANIZER, 'conf.schedule', {
    subject: 'matrix',
    admission: 'invited',
    autoPromote: 'scheduledPresenters',
    pstnLobbyBypass: true,
    presenters: relation.presenters,
    invitees: [ANCHOR, ...relation.invitees],
  });
  const confId = scheduled.confId as string;
  // One after the other: joins of one conference race on its state version.
  for (const user of [ANCHOR, ...relation.joiners]) {
    const joined = await must(user, 'conf.join', { confId });
    if (joined.state !== 'joined') throw new Error(`fixture: ${user} did not enter ${confId}: ${JSON.stringify(joined)}`);
  }
  return confId;
}

async function subscriptionOf(owner: string): Promise<string> {
  return (await must(owner, 'presence.subscribe', { targets: [PARTNER] })).subscriptionId as string;
}

/** The thing one cell acts on: shared when the cell only reads it, its own when the command changes it. */
async function contextFor(cell: Cell): Promise<CellContext> {
  const { row, kind, relation } = cell;
  const callerUri = callerOf(kind, relation);
  const unique = `sip:matrix-${cell.index}-${run}@${HOME}`;
  const base = { caller: await client(callerUri), callerUri, kind, unique, roomId: '', fileId: '', roomName: '', confId: '', conversationId: '', subscriptionId: '', messageId: '' };
  switch (relation.area) {
    case 'none':
      if (row.action === 'admin.deleteUser') {
        // A user of its own, who organizes one conference.
        const victim = uri('enterprise', `victim${cell.index}`);
        await must(victim, 'conf.schedule', { subject: 'victim' });
        return { ...base, unique: victim };
      }
      if (row.action === 'chat.declineinv' && row.variant === 'an invitation held') {
        // A room of its own, to which the caller is invited.
        const created = await must(OWNER, 'room.create', { name: `decline ${cell.index} ${run}`, privacy: 'closed' });
        await must(OWNER, 'room.invite', { roomId: created.roomId, uris: [callerUri] });
        return { ...base, roomId: created.roomId as string };
      }
      return base;
    case 'room': {
      if (!row.fresh) {
        const shared = sharedRooms.get(relation.room)!;
        return { ...base, roomId: shared.roomId, fileId: shared.fileId, roomName: shared.name, messageId: shared.messageId };
      }
      const lists = roomLists(relation.role === 'non-member' ? [] : [{ kind, role: relation.role }]);
      if (row.action === 'chat.retract') lists.presenters.push(AUTHOR);
      const created = await must(OWNER, 'room.create', roomDefinition(relation.room, lists, `fresh ${cell.index} ${run}`));
      if (row.action === 'chat.retract') {
        const posted = await must(AUTHOR, 'chat.grpchat', { roomId: created.roomId, text: 'to be retracted' });
        return { ...base, roomId: created.roomId as string, messageId: posted.messageId as string };
      }
      return { ...base, roomId: created.roomId as string };
    }
    case 'conference': {
      if (!row.fresh) return { ...base, confId: sharedConfId };
      const r = relation.relation;
      const confId = await conference({
        presenters: r === 'presenter' || r === 'scheduled presenter, not joined' ? [callerUri] : [],
        invitees: r === 'attendee' ? [callerUri] : [],
        joiners: r === 'presenter' || r === 'attendee' ? [callerUri] : [],
      });
      if (row.action === 'conf.admit' || row.action === 'conf.deny') {
        const waiting = await must(WAITER, 'conf.join', { confId });
        if (waiting.state !== 'lobby') throw new Error(`fixture: ${WAITER} is not in the lobby of ${confId}`);
      }
      return { ...base, confId };
    }
    case 'conversation': {
      if (!row.fresh) {
        const left = relation.participant === 'participant who left';
        return { ...base, conversationId: left ? leftConversationId : sharedConversationId, messageId: left ? leftConversationMessageId : sharedConversationMessageId };
      }
      const to = relation.participant === 'non-participant' ? COLLEAGUE : callerUri;
      const opened = (await must(OPENER, 'im.send', { to: [to, PARTNER], text: 'a conversation of its own' })) as { conversationId: string; messageId: string };
      const { conversationId } = opened;
      // `im.edit` / `im.retract` of the caller's own message: sent before they leave (a non-participant has none).
      const own = (row.action === 'im.edit' || row.action === 'im.retract') && relation.participant !== 'non-participant';
      const messageId = own ? ((await must(callerUri, 'im.send', { conversationId, text: 'mine' })).messageId as string) : opened.messageId;
      if (relation.participant === 'participant who left') await must(callerUri, 'im.leave', { conversationId });
      return { ...base, conversationId, messageId };
    }
    case 'subscription': {
      const owner = relation.owner ? callerUri : OWNER;
      return { ...base, subscriptionId: await subscriptionOf(owner) };
    }
  }
}

const answers = new Map<number, ResponseFrame | Error>();
const errorCodes: Record<number, string | undefined> = { 403: 'Forbidden', 404: 'NotFound', 410: 'Gone' };

beforeAll(async () => {
  // The matrix sends a few thousand commands from a few users in seconds: far above a person's rate.
  cloud = await startTestCloud({ env: { RATE_LIMIT_PER_CONNECTION: '100000', RATE_LIMIT_PER_USER: '100000', MAX_ROOMS_PER_USER: '100000', MAX_FOLLOWED_ROOMS: '100000', MAX_PENDING_INVITATIONS: '100000' } });

  // Categories for room.create.
  await must(uri('admin', 'caller'), 'admin.category.put', { category: `partners-${run}`, creators: ['fabrikam.com', uri('pstn', 'caller')] });
  await must(uri('admin', 'caller'), 'admin.category.put', { category: `everyone-${run}`, creators: ['*'] });

  // A room of each kind, every role held by a user of every kind, with a message and a file.
  const everyone = kinds.flatMap((kind) => roomRoles.filter((role) => role !== 'non-member').map((role) => ({ kind, role })));
  await Promise.all(
    roomKinds.map(async (room) => {
      const name = `matrix ${room} ${run}`;
      const { roomId } = (await must(OWNER, 'room.create', roomDefinition(room, roomLists(everyone), name))) as { roomId: string };
      const presenter = uri('enterprise', 'presenter');
      const { messageId } = (await must(presenter, 'chat.grpchat', { roomId, text: 'hello matrix' })) as { messageId: string };
      const { fileId } = (await must(presenter, 'chat.file.upload', { roomId, fileName: 'shared.txt', size: 3, contentType: 'text/plain' })) as { fileId: string };
      sharedRooms.set(room, { roomId, name, fileId, messageId });
    }),
  );

  // An active conference: scheduled presenters of every kind (in it, or not joined), attendees of every kind.
  sharedConfId = await conference({
    presenters: kinds.flatMap((kind) => [uri(kind, 'speaker'), uri(kind, 'scheduled')]),
    invitees: kinds.map((kind) => uri(kind, 'attendee')),
    joiners: kinds.flatMap((kind) => [uri(kind, 'speaker'), uri(kind, 'attendee')]),
  });

  // A conversation an enterprise user opened with a participant of every kind.
  const shared = await must(OPENER, 'im.send', { to: kinds.map((kind) => uri(kind, 'participant')), text: 'hello all' });
  sharedConversationId = shared.conversationId as string;
  sharedConversationMessageId = shared.messageId as string;
  // And one that a participant of every kind has left (it goes on between the opener and a partner).
  const left = await must(OPENER, 'im.send', { to: [...kinds.map((kind) => uri(kind, 'leaver')), PARTNER], text: 'hello all' });
  leftConversationId = left.conversationId as string;
  leftConversationMessageId = left.messageId as string;
  for (const kind of kinds) await must(uri(kind, 'leaver'), 'im.leave', { conversationId: leftConversationId });

  await inParallel(cells, 8, async (cell) => {
    try {
      const context = await contextFor(cell);
      answers.set(cell.index, await context.caller.request(cell.row.action, cell.row.args(context), 30_000));
    } catch (error) {
      answers.set(cell.index, error as Error);
    }
  });
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
});

test('every command has a row', () => {
  const covered = new Set(rows.map((row) => row.action));
  expect(Object.keys(commandSchemas).filter((action) => !covered.has(action as Action))).toEqual([]);
});

describe('command × identity kind × membership', () => {
  test.each(cells)('$name', ({ index, expected }) => {
    const answer = answers.get(index);
    if (answer instanceof Error) throw answer;
    expect(answer).toBeDefined();
    expect({ status: answer!.status, error: answer!.error?.code }).toEqual({
      status: expected.status,
      error: errorCodes[expected.status],
    });
    expected.check?.(answer!);
  });
});

describe('tokens the gateway.test.ts cases leave out are refused with 401 at the upgrade', () => {
  const url = (token: string) => `${cloud.cloud.wsUrl}/?token=${token}`;
  const secret = () => new TextEncoder().encode(requireJwtSecret(cloud.cloud.config));

  test('a forged token: the payload changed (kind admin) under the signature of another', async () => {
    const [header, , signature] = (await cloud.token('sip:mallory@contoso.com', 'enterprise')).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'sip:mallory@contoso.com', kind: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    expect(await upgradeStatus(url(`${header}.${payload}.${signature}`))).toBe(401);
  });

  test('another algorithm (HS512) with the right secret', async () => {
    const token = await new SignJWT({ kind: 'enterprise' }).setProtectedHeader({ alg: 'HS512' }).setSubject('sip:mallory@contoso.com').setExpirationTime('1h').sign(secret());
    expect(await upgradeStatus(url(token))).toBe(401);
  });

  test('a token without exp', async () => {
    const token = await new SignJWT({ kind: 'enterprise' }).setProtectedHeader({ alg: 'HS256' }).setSubject('sip:mallory@contoso.com').sign(secret());
    expect(await upgradeStatus(url(token))).toBe(401);
  });

  test('a token whose sub is not a SIP URI', async () => {
    const token = await new SignJWT({ kind: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime('1h').sign(secret());
    expect(await upgradeStatus(url(token))).toBe(401);
  });
});

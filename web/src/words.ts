import { ConnectionLostError, UcError } from '../../client/src/errors';
import type { Action } from '../../client/src/protocol';

/**
 * Every error the web app shows, said in words for a person (issue 23 item 6): never a command name, a status code,
 * a field path or a schema's wording. Pure and DOM-free (test/unit/web/words.test.ts runs it under node).
 *
 * How a sentence is chosen, first match wins:
 * 1. a `UcError` (the server answered an error): its status and code, then the server's message, read by the rules
 *    below (RULES for 401-413, INPUT_PROBLEMS for a 400 naming a field), with the command's `thing` (a room, a
 *    meeting, …) for the fallback of its status;
 * 2. a `ConnectionLostError`: what was being done, and that it may or may not have happened;
 * 3. an error of the page's own (sign-in, connecting, a check before sending): KNOWN_PAGE_ERRORS, else its own
 *    message when it is a sentence without protocol text (the app's checks throw `new Error('A plain sentence.')`);
 * 4. anything else: one generic sentence.
 * To add a sentence: a row in RULES (or INPUT_PROBLEMS, FIELDS, KNOWN_PAGE_ERRORS), and its example in the test.
 */

/** What a command is about: picks the fallback sentence of a status (403, 404, 410, 413). */
type Thing = 'room' | 'message' | 'file' | 'invitation' | 'conversation' | 'meeting' | 'presence' | 'app';

interface ActionWords {
  /** What the person was doing, as it would follow "while": "creating the room". */
  readonly doing: string;
  readonly thing: Thing;
  /** A 403 nobody wrote words for, when "in this room" would not fit (nothing is open yet). */
  readonly forbidden?: string;
}

/** Every command, so a new one cannot be added without its words (tsc checks the Record is complete). */
const ACTIONS: Readonly<Record<Action, ActionWords>> = {
  ping: { doing: 'checking the connection', thing: 'app' },
  'chat.getserverinfo': { doing: "reading the server's limits", thing: 'app' },
  'im.send': { doing: 'sending the message', thing: 'conversation' },
  'im.typing': { doing: 'showing that you are typing', thing: 'conversation' },
  'im.keepalive': { doing: 'keeping the conversation open', thing: 'conversation' },
  'im.leave': { doing: 'leaving the conversation', thing: 'conversation' },
  'im.history': { doing: 'loading earlier messages', thing: 'conversation' },
  'im.edit': { doing: 'editing the message', thing: 'message' },
  'im.retract': { doing: 'retracting the message', thing: 'message' },
  'im.markread': { doing: 'marking the conversation as read', thing: 'conversation' },
  'im.conversations': { doing: 'loading your conversations', thing: 'conversation', forbidden: "You can't see conversations here." },
  'conf.schedule': { doing: 'scheduling the meeting', thing: 'meeting', forbidden: "You can't schedule meetings." },
  'conf.get': { doing: 'loading the meeting', thing: 'meeting' },
  'conf.join': { doing: 'joining the meeting', thing: 'meeting' },
  'conf.leave': { doing: 'leaving the meeting', thing: 'meeting' },
  'conf.update': { doing: "changing the meeting's settings", thing: 'meeting' },
  'conf.end': { doing: 'ending the meeting', thing: 'meeting' },
  'conf.delete': { doing: 'deleting the meeting', thing: 'meeting' },
  'conf.admit': { doing: 'letting them in', thing: 'meeting' },
  'conf.deny': { doing: 'turning them away', thing: 'meeting' },
  'conf.content.add': { doing: 'sharing it', thing: 'meeting' },
  'conf.content.list': { doing: 'loading what is shared', thing: 'meeting' },
  'conf.list': { doing: 'loading your meetings', thing: 'meeting', forbidden: "You can't see meetings here." },
  'conf.eject': { doing: 'removing them from the meeting', thing: 'meeting' },
  'conf.role': { doing: 'changing their role', thing: 'meeting' },
  'conf.message': { doing: 'sending the message', thing: 'meeting' },
  'conf.messages': { doing: "loading the meeting's chat", thing: 'meeting' },
  'admin.deleteUser': { doing: 'deleting the user', thing: 'app' },
  'presence.publish': { doing: 'setting your presence', thing: 'presence' },
  'presence.subscribe': { doing: 'following their presence', thing: 'presence' },
  'presence.refresh': { doing: 'refreshing presence', thing: 'presence' },
  'presence.unsubscribe': { doing: 'stopping presence updates', thing: 'presence' },
  'session.resume': { doing: 'catching up on what you missed', thing: 'app' },
  'admin.category.put': { doing: 'saving the category', thing: 'app' },
  'room.create': { doing: 'creating the room', thing: 'room', forbidden: "You can't create rooms." },
  'room.update': { doing: "saving the room's changes", thing: 'room' },
  'room.delete': { doing: 'deleting the room', thing: 'room' },
  'room.invite': { doing: 'inviting them', thing: 'room' },
  'chat.getassociations': { doing: 'loading your rooms', thing: 'room', forbidden: "You can't see rooms here." },
  'chat.chansrch': { doing: 'searching for rooms', thing: 'room', forbidden: "You can't see rooms here." },
  'chat.join': { doing: 'joining the room', thing: 'room' },
  'chat.bjoin': { doing: 'joining the rooms', thing: 'room' },
  'chat.part': { doing: 'leaving the room', thing: 'room' },
  'chat.bccontext': { doing: 'loading earlier messages', thing: 'room' },
  'chat.grpchat': { doing: 'posting the message', thing: 'room' },
  'chat.markread': { doing: 'marking the room as read', thing: 'room' },
  'chat.edit': { doing: 'editing the message', thing: 'message' },
  'chat.retract': { doing: 'retracting the message', thing: 'message' },
  'chat.getinv': { doing: 'loading your invitations', thing: 'invitation' },
  'chat.declineinv': { doing: 'declining the invitation', thing: 'invitation' },
  'chat.occupants': { doing: 'loading who is here', thing: 'room' },
  'chat.search': { doing: 'searching the room', thing: 'room' },
  'chat.file.upload': { doing: 'uploading the file', thing: 'file' },
  'chat.file.download': { doing: 'downloading the file', thing: 'file' },
};

const FALLBACK_ACTION: ActionWords = { doing: 'doing that', thing: 'app' };

function wordsOf(action: string): ActionWords {
  return Object.hasOwn(ACTIONS, action) ? ACTIONS[action as Action] : FALLBACK_ACTION;
}

/** The fallback sentence of each status, by what the command is about. */
const FORBIDDEN: Readonly<Record<Thing, string>> = {
  room: "You can't do that in this room.",
  message: "You can't change that message.",
  file: "You can't use that file here.",
  invitation: "You can't do that with this invitation.",
  conversation: "You can't do that in this conversation.",
  meeting: "You can't do that in this meeting.",
  presence: "You can't see that person's presence.",
  app: "You can't do that here.",
};
const NOT_FOUND: Readonly<Record<Thing, string>> = {
  room: "That room isn't there any more, or you can't see it.",
  message: "That message isn't there any more.",
  file: "That file isn't there any more.",
  invitation: "That invitation isn't there any more.",
  conversation: "That conversation isn't there any more: start a new one with the same people.",
  meeting: "That meeting isn't there any more.",
  presence: 'Presence updates stopped: reload the page to see presence again.',
  app: "That isn't there any more.",
};
const GONE: Readonly<Record<Thing, string>> = {
  room: "That room isn't there any more.",
  message: 'That message was retracted.',
  file: 'That file was retracted.',
  invitation: "That invitation isn't there any more.",
  conversation: 'This conversation has ended: send a message to start a new one.',
  meeting: 'That meeting has been deleted or has expired.',
  presence: 'Presence updates stopped: try again.',
  app: "That isn't there any more.",
};

export const SIGNED_OUT = "You're signed out: sign in again.";
export const OUR_SIDE = 'Something went wrong on our side: try again.';
export const NO_CONNECTION = "Couldn't reach the server: check your connection and try again.";
const PAGE_WRONG = 'Something went wrong in this page: reload it and try again.';
const APP_SENT_WRONG = "The app sent something the server couldn't accept: reload the page and try again.";
const LIST_LOST = "The list couldn't be continued: reload the page and try again.";
const SIGN_IN_FAILED = "Signing in didn't work: try again.";

/** `10485760` → `10 MB`, `2048` → `2 KB` (as formatBytes in ui.tsx counts them). */
export function sizeInWords(bytes: number): string {
  const unit = (value: number, name: string) => `${Number(value.toFixed(1)).toLocaleString('en-US')} ${name}`;
  if (bytes >= 1024 * 1024) return unit(bytes / 1024 / 1024, 'MB');
  if (bytes >= 1024) return unit(bytes / 1024, 'KB');
  return `${count(bytes)} ${bytes === 1 ? 'byte' : 'bytes'}`;
}

/** `4000` → `4,000`. */
function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** A wait in whole seconds, at least one: `1,500` ms → `2 seconds`. */
export function secondsInWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return seconds === 1 ? '1 second' : `${count(seconds)} seconds`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Identity kinds (docs/protocol.md) as people: "anonymous" → "Guests". */
const KINDS: Readonly<Record<string, string>> = {
  enterprise: 'People of the organization',
  federated: 'People of partner organizations',
  anonymous: 'Guests',
  pstn: 'Phone callers',
  application: 'Apps',
  admin: 'Administrators',
};

function kindWords(kind: string | undefined): string {
  return KINDS[kind ?? ''] ?? 'You';
}

// ---------------------------------------------------------------------------------------------------------------------
// 400: the field a command named, and what was wrong with it.

/** A field of a command, as words: the noun for one value and, for a list of people or rooms, what it counts. */
interface FieldWords {
  readonly noun: string;
  /** A list's entries: "one of the addresses"; its count: "people". */
  readonly entry?: string;
  readonly counted?: { readonly one: string; readonly many: string };
  /** A SIP URI (or a list of them): a wrong one is an address to write like alice@contoso.com. */
  readonly address?: boolean;
  /** "The addresses are…". */
  readonly plural?: boolean;
}

const PEOPLE = { one: 'person', many: 'people' };
const ADDRESSES = { address: true, plural: true } as const;

/** The fields of the commands, by name (first segment of the path: `targets.0` → `targets`); per action where it differs. */
const FIELDS: Readonly<Record<string, FieldWords | ((action: string) => FieldWords | undefined)>> = {
  name: (action) => ({ noun: action.startsWith('room.') ? "the room's name" : 'the name' }),
  description: { noun: "the room's description" },
  subject: { noun: "the meeting's subject" },
  text: { noun: 'the message' },
  title: { noun: 'the title' },
  body: { noun: 'the link or text' },
  kind: { noun: 'the kind of content' },
  uris: { noun: 'the addresses', entry: 'one of the addresses', counted: PEOPLE, ...ADDRESSES },
  targets: { noun: 'the address', entry: 'the address', counted: { one: 'contact', many: 'contacts' }, address: true },
  to: { noun: 'the address', entry: 'one of the addresses', counted: PEOPLE, address: true },
  uri: { noun: 'the address', address: true },
  invitees: { noun: 'the invitees', entry: "one of the invitees' addresses", counted: { one: 'invitee', many: 'invitees' }, ...ADDRESSES },
  presenters: { noun: 'the presenters', entry: "one of the presenters' addresses", counted: { one: 'presenter', many: 'presenters' }, ...ADDRESSES },
  members: { noun: 'the members', entry: "one of the members' addresses", counted: { one: 'member', many: 'members' }, ...ADDRESSES },
  managers: { noun: 'the managers', entry: "one of the managers' addresses", counted: { one: 'manager', many: 'managers' }, ...ADDRESSES },
  mentions: { noun: 'the people mentioned', entry: 'one of the people mentioned', counted: { one: 'person mentioned', many: 'people mentioned' }, ...ADDRESSES },
  fileName: { noun: "the file's name" },
  size: { noun: 'the file' },
  // A file's type is the browser's; an IM's is the app's.
  contentType: (action) => (action === 'chat.file.upload' ? { noun: "the file's type" } : undefined),
  query: { noun: 'the search' },
  note: { noun: 'your note' },
  activity: { noun: 'your activity' },
  availability: { noun: 'your presence' },
  category: { noun: 'the category' },
  privacy: { noun: "the room's privacy" },
  type: { noun: "the room's type" },
  role: { noun: 'the role' },
  // Typed or pasted by a person (join by id or link); the other ids are the app's.
  confId: { noun: 'the meeting id' },
  expiresAt: { noun: 'the end date' },
  admission: { noun: 'who may enter' },
  autoPromote: { noun: 'who presents' },
};

/** Fields a person never typed (ids the app made, positions in a list, counts): a problem there is the app's. */
const APP_FIELDS = new Set([
  'action',
  'rid',
  'clientId',
  'clientMsgId',
  'roomId',
  'roomIds',
  'conversationId',
  'messageId',
  'fileId',
  'subscriptionId',
  'limit',
  'seq',
  'since',
  'reset',
  'source',
  'locked',
  'pstnLobbyBypass',
  'static',
]);
const CURSOR_FIELDS = new Set(['cursor', 'before', 'imCursor', 'rosterCursor']);

function fieldWords(action: string, field: string): FieldWords | undefined {
  const words = FIELDS[field];
  return typeof words === 'function' ? words(action) : words;
}

interface InputProblem {
  /** The server's message after `field '…': `. */
  readonly message: RegExp;
  readonly say: (field: FieldWords, match: RegExpExecArray, entry: boolean) => string;
}

/** What the schemas (shared/protocol/commands.ts, zod) and the use cases say about a field, in words. */
const INPUT_PROBLEMS: readonly InputProblem[] = [
  { message: /expected a SIP URI|^Invalid input$/, say: (field, _match, entry) => addressProblem(field, entry) },
  { message: /^Too small: expected string to have >=1 characters|^must not be empty/, say: (field) => `${capitalized(field.noun)} can't be empty.` },
  { message: /^Too big: expected string to have <=(\d+) characters/, say: (field, match) => `${subject(field, 'is')} too long: at most ${count(Number(match[1]))} characters.` },
  { message: /^Too small: expected string to have >=(\d+) characters/, say: (field, match) => `${subject(field, 'is')} too short: at least ${count(Number(match[1]))} characters.` },
  {
    message: /^Too big: expected array to have <=(\d+) items/,
    say: (field, match) => (field.counted ? `That is too many ${field.counted.many}: at most ${count(Number(match[1]))} at a time.` : `${subject(field, "isn't")} valid.`),
  },
  { message: /^Too small: expected array to have >=\d+ items/, say: (field) => (field.counted ? `Name at least one ${field.counted.one}.` : `${subject(field, "isn't")} valid.`) },
  { message: /must not contain ((?:'.'(?: or )?)+)/, say: (field, match) => `${capitalized(field.noun)} can't contain ${[...match[1]!.matchAll(/'(.)'/g)].map((char) => char[1]).join(' or ')}.` },
  { message: /no control characters/, say: (field) => `${capitalized(field.noun)} can't contain /, \\ or control characters.` },
  { message: /a MIME type/, say: () => "The file's type isn't one that can be sent." },
  { message: /^Invalid option/, say: (field) => `${subject(field, "isn't")} one of the choices.` },
  { message: /expected \w+, received undefined/, say: (field) => `${subject(field, 'is')} missing.` },
  { message: /^Too (?:small|big): expected number to be [<>]=?-?[\d.]+/, say: (field) => `${subject(field, "isn't")} valid.` },
  { message: /at most (\d+) words/, say: (_field, match) => `Search for at most ${count(Number(match[1]))} words.` },
  { message: /needs a word of two or more/, say: () => 'Search for a word of at least two letters or digits.' },
  { message: /a room keeps at least one manager/, say: () => 'A room needs at least one manager.' },
  { message: /at most (\d+) recipients/, say: (_field, match) => `A conversation can include at most ${count(Number(match[1]))} other people.` },
  { message: /name at least one other participant/, say: () => 'Name at least one other person.' },
  { message: /a subscription watches at most (\d+) users/, say: (_field, match) => presenceTargets(match[1]) },
  { message: /was not uploaded to room/, say: () => 'That file belongs to another room: attach it again here.' },
  { message: /give at least one field to change|give at least one of/, say: () => 'There is nothing to change.' },
];

/** "The room's name is", "The addresses are". */
function subject(field: FieldWords, verb: 'is' | "isn't"): string {
  const plural = { is: 'are', "isn't": "aren't" } as const;
  return `${capitalized(field.noun)} ${field.plural ? plural[verb] : verb}`;
}

function addressProblem(field: FieldWords, entry: boolean): string {
  if (!field.address) return `${subject(field, "isn't")} valid.`;
  if (entry && field.entry && field.entry !== field.noun) return `${capitalized(field.entry)} isn't valid: write each one like alice@contoso.com.`;
  return `That isn't a valid address: write it like alice@contoso.com.`;
}

function presenceTargets(limit: string | undefined): string {
  return `Presence is shown for at most ${limit ? count(Number(limit)) : 'a limited number of'} contacts: remove a contact before adding another.`;
}

function badRequest(error: UcError): string {
  const path = error.field ?? /^field '([^']+)'/.exec(error.serverMessage)?.[1];
  const problem = error.serverMessage.replace(/^field '[^']*':?\s*/, '');
  if (/^unknown action/.test(problem)) return 'This page is out of date: reload it and try again.';
  if (/not a cursor this server gave/.test(problem) || (path !== undefined && CURSOR_FIELDS.has(path.split('.')[0]!))) return LIST_LOST;
  const [name = '', index] = (path ?? '').split('.');
  const field = name && !APP_FIELDS.has(name) ? fieldWords(error.action, name) : undefined;
  // Problems that name no field of the person's (a search's words, a room's managers) have their own sentence.
  const generic: FieldWords = field ?? { noun: 'what was entered' };
  for (const rule of INPUT_PROBLEMS) {
    const match = rule.message.exec(problem);
    if (!match) continue;
    const said = rule.say(generic, match, index !== undefined);
    // A sentence about "what was entered" when the field was the app's own is no help: say it was the app's.
    return field || !said.toLowerCase().includes(generic.noun) ? said : APP_SENT_WRONG;
  }
  return field ? `${subject(field, "isn't")} valid.` : APP_SENT_WRONG;
}

// ---------------------------------------------------------------------------------------------------------------------
// 401-413: the server's message, read by rules; then the status's sentence for what the command is about.

interface Rule {
  readonly status: number;
  /** Only for these commands (else any). */
  readonly actions?: readonly Action[];
  readonly message: RegExp;
  readonly say: (match: RegExpExecArray, error: UcError) => string;
}

const RULES: readonly Rule[] = [
  // 403: quotas (QuotaExceeded, docs/protocol.md "Limits and quotas", and the presence quotas, which are Forbidden).
  { status: 403, message: /quota MAX_FOLLOWED_ROOMS \((\d+)\)/, say: (m) => `You follow as many rooms as you can (${count(Number(m[1]))}): leave one to follow another.` },
  {
    status: 403,
    message: /quota MAX_ROOMS_PER_USER \((\d+)\)/,
    say: (m) => `You manage as many rooms as you can (${count(Number(m[1]))}): delete one, or hand one to another manager.`,
  },
  { status: 403, message: /quota MAX_FILES_PER_ROOM \((\d+)\)/, say: (m) => `This room holds as many files as it can (${count(Number(m[1]))}).` },
  {
    status: 403,
    message: /quota MAX_PENDING_INVITATIONS \((\d+)\)/,
    say: (m) => `They already have as many unanswered invitations as they can hold (${count(Number(m[1]))}): they need to answer some first.`,
  },
  {
    status: 403,
    message: /quota PRESENCE_MAX_SUBSCRIPTIONS_PER_USER\D*(\d+)/,
    say: (m) => `Too many apps or tabs follow presence for you (at most ${count(Number(m[1]))} at once): close one, then try again.`,
  },
  {
    status: 403,
    message: /quota PRESENCE_MAX_WATCHED_TARGETS_PER_USER\D*(\d+)/,
    say: (m) => `You already follow the presence of as many people as allowed (${count(Number(m[1]))}, over all your devices): remove a contact first.`,
  },
  { status: 403, message: /^quota \S+ \((\d+)\)/, say: (m) => `You have reached a limit here (${count(Number(m[1]))}).` },
  // 403: rooms.
  { status: 403, message: /is (?:closed|secret): members only/, say: () => "Only the room's members can join it: ask one of its managers to invite you." },
  { status: 403, message: /only members read it/, say: () => "Only the room's members can read it: ask one of its managers to invite you." },
  { status: 403, message: /auditorium: only presenters post/, say: () => 'Only presenters can post in this room.' },
  { status: 403, message: /only managers of room/, say: () => "Only the room's managers can do that." },
  { status: 403, message: /may not create rooms in category/, say: () => "You can't create rooms in that category." },
  { status: 403, message: /only admins|only administrators/, say: () => 'Only administrators can do that.' },
  { status: 403, message: /or a manager of the room may retract/, say: () => 'Only the author of a message or a manager of the room can retract it.' },
  { status: 403, message: /only the author of a message may (edit|retract) it/, say: (m) => `Only the author of a message can ${m[1]} it.` },
  // 403: meetings.
  { status: 403, message: /the conference is locked/, say: () => 'The meeting is locked: nobody new can join until a presenter unlocks it.' },
  { status: 403, message: /only presenters may do this/, say: () => 'Only presenters can do that.' },
  { status: 403, message: /see meeting content/, say: () => "Only the meeting's participants can see what is shared in it." },
  { status: 403, message: /may read its IM/, say: () => "Only the people in the meeting can read its chat." },
  { status: 403, message: /may send its IM/, say: () => "Only the people in the meeting can write in its chat." },
  { status: 403, message: /organizer cannot be ejected/, say: () => "The organizer can't be removed from the meeting." },
  { status: 403, message: /organizer is always a presenter/, say: () => 'The organizer is always a presenter.' },
  { status: 403, message: /only enterprise users may schedule/, say: () => 'Only people of the organization can schedule meetings.' },
  { status: 403, message: /only the organizer may delete/, say: () => 'Only the organizer can delete the meeting.' },
  // 403: IM and presence.
  { status: 403, message: /only participants may use this conversation/, say: () => "You're not in this conversation any more: start a new one with the same people." },
  { status: 403, message: /^(\w+) users may not open IM conversations/, say: (m) => `${kindWords(m[1])} can't start conversations: they take part in meetings only.` },
  { status: 403, message: /^(\w+) users may not watch the presence/, say: (m) => `${kindWords(m[1])} can't see the presence of people in the organization.` },
  { status: 403, message: /only the subscriber may use this subscription/, say: () => NOT_FOUND.presence },
  // 404.
  { status: 404, actions: ['conf.join', 'conf.get'], message: /^no conference/, say: () => 'There is no meeting with that id: check the link or the meeting id.' },
  { status: 404, message: /^no conference/, say: () => NOT_FOUND.meeting },
  { status: 404, message: /^no room/, say: () => NOT_FOUND.room },
  { status: 404, message: /^no conversation/, say: () => NOT_FOUND.conversation },
  { status: 404, message: /^no message/, say: () => NOT_FOUND.message },
  { status: 404, message: /^no file/, say: () => NOT_FOUND.file },
  { status: 404, message: /^no invitation/, say: () => NOT_FOUND.invitation },
  { status: 404, message: /is not waiting in the lobby/, say: () => 'They are no longer waiting in the lobby.' },
  { status: 404, message: /is not in the meeting/, say: () => 'They are no longer in the meeting.' },
  { status: 404, message: /^no subscription/, say: () => NOT_FOUND.presence },
  // 410.
  { status: 410, message: /^conference .*(?:deleted|expired)/, say: () => GONE.meeting },
  { status: 410, message: /^conversation .* has ended/, say: () => GONE.conversation },
  { status: 410, message: /^message .* was retracted/, say: () => GONE.message },
  { status: 410, message: /^file .* was retracted/, say: () => 'That file was retracted with its message.' },
  { status: 410, message: /only an active conference can be locked/, say: () => 'Only a meeting in progress can be locked or unlocked.' },
  { status: 410, message: /connection is closing/, say: () => 'The connection is closing: try again in a moment.' },
  { status: 410, message: /^subscription /, say: () => GONE.presence },
  // 413 (the use cases' checks; the schemas' own limits are 400s).
  { status: 413, message: /field 'text': over (\d+) bytes/, say: (m) => `The message is too long (at most ${count(Number(m[1]))} bytes): shorten it.` },
  { status: 413, message: /field 'size': over (\d+) bytes/, say: (m) => `The file is too large: files can be at most ${sizeInWords(Number(m[1]))}.` },
];

function serverAnswer(error: UcError): string {
  const words = wordsOf(error.action);
  for (const rule of RULES) {
    if (rule.status !== error.status || (rule.actions && !(rule.actions as readonly string[]).includes(error.action))) continue;
    const match = rule.message.exec(error.serverMessage);
    if (match) return rule.say(match, error);
  }
  switch (error.status) {
    case 0:
      // The client library's own: no answer within its timeout (client/src/client.ts).
      return "The server didn't answer in time: check your connection and try again.";
    case 400:
      return badRequest(error);
    case 401:
      return SIGNED_OUT;
    case 403:
      return words.forbidden ?? FORBIDDEN[words.thing];
    case 404:
      return NOT_FOUND[words.thing];
    case 409:
      return 'Someone changed this at the same time: try again.';
    case 410:
      return GONE[words.thing];
    case 413:
      return words.thing === 'file' ? 'The file is too large.' : 'That is too long to send: shorten it.';
    case 429:
      return `Too many requests: try again in ${secondsInWords(error.retryAfterMs ?? 1000)}.`;
    case 500:
      return `${OUR_SIDE.slice(0, -1)}${correlation(error.serverMessage)}.`;
    case 503:
      return error.retryAfterMs !== undefined && error.retryAfterMs >= 2000
        ? `The service is busy right now: try again in ${secondsInWords(error.retryAfterMs)}.`
        : 'The service is busy right now: try again in a moment.';
  }
  if (error.code === 'UploadFailed') return "The file couldn't be uploaded: try again.";
  if (error.status >= 500) return OUR_SIDE;
  return `${capitalized(words.doing)} didn't work: try again.`;
}

/** A 500's reference for support (`internal error (correlation id …)`), or nothing. */
function correlation(message: string): string {
  const id = /correlation id ([\w-]+)/.exec(message)?.[1];
  return id ? ` (reference ${id})` : '';
}

// ---------------------------------------------------------------------------------------------------------------------
// The page's own errors: signing in (web/src/session.ts, oidc-client-ts), connecting (client/src/client.ts).

const KNOWN_PAGE_ERRORS: ReadonlyArray<{ readonly message: RegExp; readonly say: string }> = [
  { message: /^the server does not answer/, say: NO_CONNECTION },
  { message: /^config\.json is missing/, say: "The app isn't set up completely on this server: ask its administrator." },
  { message: /^signed out/, say: SIGNED_OUT },
  { message: /^could not connect to /, say: NO_CONNECTION },
  { message: /^connection refused or closed/, say: "Couldn't connect to the server: check your connection, or sign in again." },
  { message: /^no global WebSocket/, say: "This browser can't connect to the server." },
  { message: /^already connected$/, say: PAGE_WRONG },
  // fetch() that did not reach the server: Chromium, Firefox and Safari say it differently.
  { message: /^Failed to fetch|^NetworkError|^Load failed|^Network request failed/, say: NO_CONNECTION },
  // oidc-client-ts (the sign-in round trip): its messages name what the issuer's answer lacked.
  {
    message:
      /\bstate (?:found|in response|in URL)|^State does not match|id_token|ID Token|client_id|client_secret|redirect_uri|authority|nonce|jwk|keyset|^Popup|^IFrame|subtle|response_type|request_type|metadataUrl|end session|auth_time|\bazp\b|DPoP|PKCE|Authorization Code|UserInfo|refresh_token|^No token passed|^A token is required|^Expected code in response|^Redirect aborted|disposed window|response from window/,
    say: SIGN_IN_FAILED,
  },
];

/** The command names (ACTIONS' keys, exactly: `chat.join`, not an address's `chat.example.com`). */
const COMMAND_NAME = new RegExp(`(?:^|[\\s:'"(])(?:${Object.keys(ACTIONS).map((action) => action.replace(/\./g, '\\.')).join('|')})\\b`);

/** Protocol text in a message the page made itself (what a person typed, quoted “…”, aside): it is not shown, the generic sentence is. */
function hasProtocolText(message: string): boolean {
  const unquoted = message.replace(/“[^”]*”|"[^"]*"/g, '');
  return (
    COMMAND_NAME.test(unquoted) ||
    /\b[1-5]\d\d\s+[A-Z][a-zA-Z]+|field '|\b(?:BadRequest|Unauthorized|Forbidden|NotFound|Conflict|Gone|TooLarge|QuotaExceeded|TooManyRequests|Unavailable|Internal)\b|expected (?:string|array|number)|Too (?:small|big)|Invalid (?:input|option)|\b[A-Z]+_[A-Z_]+\b/.test(
      unquoted,
    )
  );
}

function pageError(error: Error): string {
  // oidc-client-ts: the issuer said no (`?error=access_denied`) or the round trip timed out.
  if (error.name === 'ErrorResponse') return "Signing in was refused or cancelled: try again.";
  if (error.name === 'ErrorTimeout') return 'Signing in took too long: try again.';
  const message = error.message.trim();
  for (const known of KNOWN_PAGE_ERRORS) if (known.message.test(message)) return known.say;
  // A TypeError, a DOMException…: a fault of the page, whose message means nothing to a person.
  if (error.name !== 'Error' || !message || hasProtocolText(message)) return PAGE_WRONG;
  // The app's own checks before sending ('give a meeting id or its join link'): already words.
  const sentence = capitalized(message);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** Any error the app can catch, as one plain sentence for the person using it. */
export function sayError(error: unknown): string {
  if (error instanceof UcError) return serverAnswer(error);
  if (error instanceof ConnectionLostError) {
    return `The connection dropped while ${wordsOf(error.action).doing}, so it may or may not have been done: check, then try again.`;
  }
  if (error instanceof Error) return pageError(error);
  if (typeof error === 'string' && error.trim()) return pageError(new Error(error));
  return PAGE_WRONG;
}

/**
 * The client library's `error` event (client/src/client.ts) in words, for the shell's bar: a failed reconnect (with
 * what failed, when that says more: signed out), giving up, or a page handler that threw.
 */
export function sayClientError(event: { readonly message: string; readonly cause?: unknown }): string {
  const gaveUp = /^gave up reconnecting after (\d+) attempts/.exec(event.message);
  if (gaveUp) return `Couldn't reconnect after ${count(Number(gaveUp[1]))} tries: reload the page to connect again.`;
  if (/^reconnect failed/.test(event.message)) {
    if (event.cause !== undefined && sayError(event.cause) === SIGNED_OUT) return SIGNED_OUT;
    return "Couldn't reconnect yet: trying again.";
  }
  if (/^a handler of .* threw/.test(event.message)) return PAGE_WRONG;
  return sayError(event.cause ?? new Error(event.message));
}

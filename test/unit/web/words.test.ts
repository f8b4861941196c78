/**
 * Issue 23 item 6: every error the web app can show is in words (web/src/words.ts). One test per error family, the
 * issue's own examples, and a property: for every command the app calls and every status the server answers, with
 * the server's real messages (the schemas' zod wording and the use cases' messages), no sentence holds protocol text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeParse } from 'zod/v4/core';
import { ConnectionLostError, UcError } from '../../../client/src/errors';
import type { Action } from '../../../client/src/protocol';
import { commandSchemas } from '../../../shared/protocol/commands';
import { validateArgs } from '../../../shared/protocol/envelope';
import { sayClientError, sayError } from '../../../web/src/words';

/** The server's 400 for these arguments, as the pipeline answers it (validateArgs names the first failing field). */
function badRequest(action: Action, args: Record<string, unknown>): UcError {
  try {
    validateArgs(commandSchemas[action], args);
  } catch (error) {
    const { message, field } = error as { message: string; field?: string };
    return new UcError(action, 400, 'BadRequest', message, field);
  }
  throw new Error(`${action} accepted ${JSON.stringify(args)}`);
}

function answered(action: Action, status: number, code: string, message: string, retryAfterMs?: number): UcError {
  return new UcError(action, status, code, message, undefined, retryAfterMs);
}

/** What a person must never read: a status with its code, a code name, a command, a field path, zod's wording, a quota's name. */
const PROTOCOL_TEXT: ReadonlyArray<[string, RegExp]> = [
  ['a status and its code', /\b[1-5]\d\d\s+[A-Z][a-zA-Z]+/],
  ['a code name', /\b(?:BadRequest|Unauthorized|Forbidden|NotFound|Conflict|Gone|TooLarge|QuotaExceeded|TooManyRequests|Unavailable|Internal|Timeout|UploadFailed)\b/],
  ['a command name', /\b(?:ping|chat|im|conf|room|presence|session|admin)\.[a-z]+/],
  ["field '", /field '/],
  ['zod wording', /expected (?:string|array|number)|Too (?:small|big)|Invalid (?:input|option)|received undefined|>=|<=/],
  ['a quota or setting name', /\b[A-Z]+_[A-Z_]+\b/],
  ['a field name', /\b[a-z]+[A-Z]\w*\b/],
  ['a server id', /\b(?:conf|room|conv|msg|file|sub)_\w+/],
  ['a SIP URI', /sip:/],
];

function expectWords(sentence: string, from: string): void {
  for (const [what, pattern] of PROTOCOL_TEXT) {
    if (pattern.test(sentence)) throw new Error(`${what} in "${sentence}" (from ${from})`);
  }
  if (!/^[A-Z"'].*[.!?]$/s.test(sentence)) throw new Error(`not a sentence: "${sentence}" (from ${from})`);
}

/** Every command the web app sends: `request('…')` and the client library's conveniences it calls (web/src). */
function actionsTheAppCalls(): Action[] {
  const conveniences: Record<string, Action> = {
    sendIm: 'im.send',
    post: 'chat.grpchat',
    editPost: 'chat.edit',
    retractPost: 'chat.retract',
    editIm: 'im.edit',
    retractIm: 'im.retract',
    uploadFile: 'chat.file.upload',
    markImRead: 'im.markread',
    imConversations: 'im.conversations',
    messagesAfter: 'chat.bccontext',
  };
  const dir = join(__dirname, '../../../web/src');
  const found = new Set<Action>(['session.resume', 'ping']);
  for (const file of readdirSync(dir).filter((name) => /\.tsx?$/.test(name))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const match of source.matchAll(/request\(\s*'([a-z.]+)'/g)) found.add(match[1] as Action);
    for (const match of source.matchAll(/client\.(\w+)\(/g)) if (conveniences[match[1]!]) found.add(conveniences[match[1]!]!);
  }
  // `decide(uri, 'conf.admit' | 'conf.deny')` passes the action in a variable.
  found.add('conf.admit');
  found.add('conf.deny');
  return [...found].sort();
}

/** The use cases' messages (grep `new …Error(` in shared/ and functions/), with their status and code. */
const SERVER_MESSAGES: ReadonlyArray<[number, string, string]> = [
  [400, 'BadRequest', "field 'cursor': not a cursor this server gave"],
  [400, 'BadRequest', "field 'before': not a cursor this server gave"],
  [400, 'BadRequest', "field 'imCursor': not a cursor this server gave"],
  [400, 'BadRequest', "field 'fileId': file file_1 was not uploaded to room room_2"],
  [400, 'BadRequest', "field 'managers': a room keeps at least one manager"],
  [400, 'BadRequest', "field 'query': at most 8 words"],
  [400, 'BadRequest', "field 'query': needs a word of two or more letters or digits"],
  [400, 'BadRequest', "field 'to': at most 49 recipients"],
  [400, 'BadRequest', "field 'to': name at least one other participant"],
  [400, 'BadRequest', "field 'targets': a subscription watches at most 200 users (PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION)"],
  [400, 'BadRequest', "'reset' applies to the static meeting space only (static: true)"],
  [400, 'BadRequest', "unknown action 'chat.nothing'"],
  [400, 'BadRequest', 'malformed JSON: the frame must be one JSON object'],
  [400, 'BadRequest', "field 'rid' must be a string of at most 128 characters"],
  [401, 'Unauthorized', 'no authenticated identity on this connection'],
  [403, 'QuotaExceeded', 'quota MAX_FOLLOWED_ROOMS (500) reached: you follow that many rooms; part one (chat.part) to follow another'],
  [403, 'QuotaExceeded', 'quota MAX_ROOMS_PER_USER (200) reached: you manage that many rooms; delete one or hand it to another manager'],
  [403, 'QuotaExceeded', 'quota MAX_FILES_PER_ROOM (10000) reached: room room_1 holds that many files'],
  [403, 'QuotaExceeded', 'quota MAX_PENDING_INVITATIONS (100) reached: sip:bob@contoso.com holds that many unseen invitations'],
  [403, 'QuotaExceeded', 'quota MAX_SOMETHING_NEW (7) reached: whatever'],
  [403, 'Forbidden', 'quota PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: a user holds at most 20 presence subscriptions; add targets to one (subscriptionId) or unsubscribe one'],
  [403, 'Forbidden', 'quota PRESENCE_MAX_WATCHED_TARGETS_PER_USER: a user watches at most 1000 targets over all subscriptions (990 now, 20 more asked)'],
  [403, 'Forbidden', 'room room_1 is closed: members only'],
  [403, 'Forbidden', 'room room_1 is secret: only members read it'],
  [403, 'Forbidden', 'room room_1 is an auditorium: only presenters post'],
  [403, 'Forbidden', 'only managers of room room_1 may do this'],
  [403, 'Forbidden', 'you may not create rooms in category finance'],
  [403, 'Forbidden', 'only admins define categories'],
  [403, 'Forbidden', 'only the author of a message may edit it'],
  [403, 'Forbidden', 'only the author of a message may retract it'],
  [403, 'Forbidden', 'only the author of a message or a manager of the room may retract it'],
  [403, 'Forbidden', 'the conference is locked'],
  [403, 'Forbidden', 'only presenters may do this'],
  [403, 'Forbidden', 'only participants and the organizer see meeting content'],
  [403, 'Forbidden', "only the meeting's current participants may read its IM"],
  [403, 'Forbidden', "only the meeting's participants may send its IM"],
  [403, 'Forbidden', 'the organizer cannot be ejected by someone else'],
  [403, 'Forbidden', 'the organizer is always a presenter'],
  [403, 'Forbidden', 'only enterprise users may schedule conferences'],
  [403, 'Forbidden', 'only the organizer may delete the conference'],
  [403, 'Forbidden', 'only administrators may delete users'],
  [403, 'Forbidden', 'only participants may use this conversation'],
  [403, 'Forbidden', 'anonymous users may not open IM conversations'],
  [403, 'Forbidden', 'pstn users may not open IM conversations'],
  [403, 'Forbidden', 'anonymous users may not watch the presence of sip:alice@contoso.com, a user of contoso.com'],
  [403, 'Forbidden', 'only the subscriber may use this subscription'],
  [403, 'Forbidden', 'something new nobody wrote words for'],
  [404, 'NotFound', 'no conference conf_8f2a'],
  [404, 'NotFound', 'no room room_1'],
  [404, 'NotFound', 'no conversation conv_1'],
  [404, 'NotFound', 'no message msg_1 in room room_1'],
  [404, 'NotFound', 'no message msg_1 in conversation conv_1'],
  [404, 'NotFound', 'no file file_1'],
  [404, 'NotFound', 'no invitation to room room_1'],
  [404, 'NotFound', 'sip:gus@example.org is not waiting in the lobby'],
  [404, 'NotFound', 'sip:gus@example.org is not in the meeting'],
  [404, 'NotFound', 'no subscription sub_1'],
  [404, 'NotFound', 'something new'],
  [409, 'Conflict', 'a concurrent change won'],
  [410, 'Gone', 'conference conf_1 has been deleted or has expired'],
  [410, 'Gone', 'conversation conv_1 has ended'],
  [410, 'Gone', 'message msg_1 was retracted'],
  [410, 'Gone', 'file file_1 was retracted'],
  [410, 'Gone', 'only an active conference can be locked or unlocked'],
  [410, 'Gone', 'this connection is closing'],
  [410, 'Gone', 'subscription sub_1 has expired; subscribe anew'],
  [410, 'Gone', 'subscription sub_1 has terminated (timeout); subscribe anew'],
  [413, 'TooLarge', "field 'text': over 4000 bytes"],
  [413, 'TooLarge', "field 'size': over 10485760 bytes"],
  [413, 'TooLarge', 'something else too large'],
  [429, 'TooManyRequests', 'too many commands from this connection; retry after retryAfterMs'],
  [500, 'Internal', 'internal error (correlation id 4f1c2b9e-0d3a-4c55-9a61-2b7e8f9d0c11)'],
  [503, 'Unavailable', 'the service is busy; retry with the same client id'],
  [503, 'Unavailable', 'the conversation kept changing; retry with the same clientMsgId'],
  [502, 'BadGateway', 'upstream'],
  [418, 'Teapot', 'short and stout'],
  [0, 'Timeout', 'no answer within 30000 ms'],
  [503, 'UploadFailed', 'the file store answered 503 to the upload'],
];

test("the issue's examples are said in words", () => {
  expect(sayError(badRequest('room.create', { name: '' }))).toBe("The room's name can't be empty.");
  expect(sayError(answered('conf.join', 404, 'NotFound', 'no conference conf_8f2a91'))).toBe('There is no meeting with that id: check the link or the meeting id.');
  expect(sayError(answered('chat.file.upload', 413, 'TooLarge', "field 'size': over 10485760 bytes"))).toBe('The file is too large: files can be at most 10 MB.');
  expect(sayError(badRequest('presence.subscribe', { targets: ['bob'] }))).toBe("That isn't a valid address: write it like alice@contoso.com.");
});

test('400: a field becomes words, and a limit of the schema its number', () => {
  expect(sayError(badRequest('room.create', { name: 'x'.repeat(300) }))).toBe("The room's name is too long: at most 256 characters.");
  expect(sayError(badRequest('room.create', { name: 'a', description: 'x'.repeat(2000) }))).toBe("The room's description is too long: at most 1,024 characters.");
  expect(sayError(badRequest('room.create', { name: 'a', category: 'a#b' }))).toBe("The category can't contain # or *.");
  expect(sayError(badRequest('room.invite', { roomId: 'r', uris: ['sip:a@b.c', 'bob'] }))).toBe("One of the addresses isn't valid: write each one like alice@contoso.com.");
  expect(sayError(badRequest('room.invite', { roomId: 'r', uris: [] }))).toBe('Name at least one person.');
  expect(sayError(badRequest('presence.subscribe', { targets: Array(51).fill('sip:a@b.c') }))).toBe('That is too many contacts: at most 50 at a time.');
  expect(sayError(badRequest('conf.join', { confId: 'x'.repeat(65) }))).toBe('The meeting id is too long: at most 64 characters.');
  expect(sayError(badRequest('conf.schedule', { subject: '' }))).toBe("The meeting's subject can't be empty.");
  expect(sayError(badRequest('conf.schedule', { subject: 'Q3', invitees: ['gus'] }))).toBe("One of the invitees' addresses isn't valid: write each one like alice@contoso.com.");
  expect(sayError(badRequest('conf.content.add', { confId: 'c', title: 'a', kind: 'link', body: 'x'.repeat(4001) }))).toBe('The link or text is too long: at most 4,000 characters.');
  expect(sayError(badRequest('chat.grpchat', { roomId: 'r', text: '' }))).toBe("The message can't be empty.");
  expect(sayError(badRequest('chat.file.upload', { roomId: 'r', fileName: 'a/b', size: 1 }))).toBe("The file's name can't contain /, \\ or control characters.");
  expect(sayError(badRequest('presence.publish', { availability: 'online', note: 'x'.repeat(600) }))).toBe('Your note is too long: at most 512 characters.');
  expect(sayError(badRequest('im.send', { to: 'bob', text: 'hi' }))).toBe("That isn't a valid address: write it like alice@contoso.com.");
  expect(sayError(answered('chat.search', 400, 'BadRequest', "field 'query': at most 8 words"))).toBe('Search for at most 8 words.');
  expect(sayError(answered('im.send', 400, 'BadRequest', "field 'to': at most 49 recipients"))).toBe('A conversation can include at most 49 other people.');
  // What the app made, not the person (an id it generated, a list position, a count): said as the app's fault.
  expect(sayError(badRequest('chat.grpchat', { roomId: 'r', text: 'a', clientMsgId: 'a#b' }))).toBe("The app sent something the server couldn't accept: reload the page and try again.");
  expect(sayError(badRequest('im.history', { conversationId: 'c', limit: 0 }))).toBe("The app sent something the server couldn't accept: reload the page and try again.");
  expect(sayError(answered('chat.bccontext', 400, 'BadRequest', "field 'before': not a cursor this server gave"))).toBe(
    "The list couldn't be continued: reload the page and try again.",
  );
  expect(sayError(answered('chat.join', 400, 'BadRequest', "unknown action 'chat.join'"))).toBe('This page is out of date: reload it and try again.');
});

test('401: signed out', () => {
  expect(sayError(answered('chat.grpchat', 401, 'Unauthorized', 'no authenticated identity on this connection'))).toBe("You're signed out: sign in again.");
});

test("403: why not, in the room's, the meeting's or the conversation's terms, and quotas with their number", () => {
  expect(sayError(answered('chat.join', 403, 'Forbidden', 'room room_1 is closed: members only'))).toBe("Only the room's members can join it: ask one of its managers to invite you.");
  expect(sayError(answered('chat.grpchat', 403, 'Forbidden', 'room room_1 is an auditorium: only presenters post'))).toBe('Only presenters can post in this room.');
  expect(sayError(answered('conf.join', 403, 'Forbidden', 'the conference is locked'))).toBe('The meeting is locked: nobody new can join until a presenter unlocks it.');
  expect(sayError(answered('room.create', 403, 'Forbidden', 'anonymous users may not open IM conversations'))).toBe("Guests can't start conversations: they take part in meetings only.");
  expect(sayError(answered('presence.subscribe', 403, 'Forbidden', 'anonymous users may not watch the presence of sip:alice@contoso.com, a user of contoso.com'))).toBe(
    "Guests can't see the presence of people in the organization.",
  );
  expect(sayError(answered('room.create', 403, 'QuotaExceeded', 'quota MAX_ROOMS_PER_USER (200) reached: you manage that many rooms'))).toBe(
    'You manage as many rooms as you can (200): delete one, or hand one to another manager.',
  );
  expect(sayError(answered('chat.file.upload', 403, 'QuotaExceeded', 'quota MAX_FILES_PER_ROOM (10000) reached: room room_1 holds that many files'))).toBe(
    'This room holds as many files as it can (10,000).',
  );
  // A refusal nobody wrote words for yet: the fallback of what the command is about.
  expect(sayError(answered('chat.grpchat', 403, 'Forbidden', 'a new rule'))).toBe("You can't do that in this room.");
  expect(sayError(answered('conf.end', 403, 'Forbidden', 'a new rule'))).toBe("You can't do that in this meeting.");
  expect(sayError(answered('room.create', 403, 'Forbidden', 'anonymous callers may not create rooms'))).toBe("You can't create rooms.");
  expect(sayError(answered('ping', 403, 'Forbidden', 'new rule'))).toBe("You can't do that here.");
});

test("404 and 410: what isn't there any more", () => {
  expect(sayError(answered('im.send', 404, 'NotFound', 'no conversation conv_1'))).toBe("That conversation isn't there any more: start a new one with the same people.");
  expect(sayError(answered('conf.get', 404, 'NotFound', 'no conference conf_1'))).toBe('There is no meeting with that id: check the link or the meeting id.');
  expect(sayError(answered('conf.leave', 404, 'NotFound', 'no conference conf_1'))).toBe("That meeting isn't there any more.");
  expect(sayError(answered('conf.admit', 404, 'NotFound', 'sip:gus@example.org is not waiting in the lobby'))).toBe('They are no longer waiting in the lobby.');
  expect(sayError(answered('chat.join', 404, 'NotFound', 'no room room_1'))).toBe("That room isn't there any more, or you can't see it.");
  expect(sayError(answered('conf.join', 410, 'Gone', 'conference conf_1 has been deleted or has expired'))).toBe('That meeting has been deleted or has expired.');
  expect(sayError(answered('chat.edit', 410, 'Gone', 'message msg_1 was retracted'))).toBe('That message was retracted.');
  expect(sayError(answered('chat.file.download', 410, 'Gone', 'file file_1 was retracted'))).toBe('That file was retracted with its message.');
  expect(sayError(answered('chat.file.download', 404, 'NotFound', 'whatever'))).toBe("That file isn't there any more.");
});

test('409, 413, 429, 500, 503: a concurrent change, a limit in numbers, when to try again', () => {
  expect(sayError(answered('room.update', 409, 'Conflict', 'a concurrent change won'))).toBe('Someone changed this at the same time: try again.');
  expect(sayError(answered('chat.grpchat', 413, 'TooLarge', "field 'text': over 4000 bytes"))).toBe('The message is too long (at most 4,000 bytes): shorten it.');
  expect(sayError(answered('chat.file.upload', 413, 'TooLarge', "field 'size': over 5242880 bytes"))).toBe('The file is too large: files can be at most 5 MB.');
  expect(sayError(answered('chat.grpchat', 429, 'TooManyRequests', 'too many commands', 2500))).toBe('Too many requests: try again in 3 seconds.');
  expect(sayError(answered('chat.grpchat', 429, 'TooManyRequests', 'too many commands', 200))).toBe('Too many requests: try again in 1 second.');
  expect(sayError(answered('chat.grpchat', 500, 'Internal', 'internal error (correlation id 4f1c2b9e-0d3a)'))).toBe(
    'Something went wrong on our side: try again (reference 4f1c2b9e-0d3a).',
  );
  expect(sayError(answered('chat.grpchat', 503, 'Unavailable', 'the service is busy; retry with the same client id', 500))).toBe(
    'The service is busy right now: try again in a moment.',
  );
  expect(sayError(answered('chat.grpchat', 503, 'Unavailable', 'over 1000 commands in flight', 5000))).toBe('The service is busy right now: try again in 5 seconds.');
  expect(sayError(new UcError('chat.grpchat', 0, 'Timeout', 'no answer within 30000 ms'))).toBe("The server didn't answer in time: check your connection and try again.");
  expect(sayError(new UcError('chat.file.upload', 403, 'UploadFailed', 'the file store answered 403 to the upload'))).toBe("You can't use that file here.");
  expect(sayError(new UcError('chat.file.upload', 502, 'UploadFailed', 'the file store answered 502 to the upload'))).toBe("The file couldn't be uploaded: try again.");
  expect(sayError(answered('room.create', 418, 'Teapot', 'short and stout'))).toBe("Creating the room didn't work: try again.");
});

test('a connection lost before the answer: what was being done, and that it may or may not have happened', () => {
  expect(sayError(new ConnectionLostError('room.create'))).toBe('The connection dropped while creating the room, so it may or may not have been done: check, then try again.');
  expect(sayError(new ConnectionLostError('something.new'))).toBe('The connection dropped while doing that, so it may or may not have been done: check, then try again.');
});

test("signing in and connecting: the page's own errors in words", () => {
  expect(sayError(new Error('the server does not answer: is `npm start` running?'))).toBe("Couldn't reach the server: check your connection and try again.");
  expect(sayError(new Error('config.json is missing or incomplete (HTTP 404)'))).toBe("The app isn't set up completely on this server: ask its administrator.");
  expect(sayError(new Error('signed out: sign in again'))).toBe("You're signed out: sign in again.");
  expect(sayError(new Error('could not connect to ws://127.0.0.1:3001'))).toBe("Couldn't reach the server: check your connection and try again.");
  expect(sayError(new Error('connection refused or closed (1006)'))).toBe("Couldn't connect to the server: check your connection, or sign in again.");
  expect(sayError(new TypeError('Failed to fetch'))).toBe("Couldn't reach the server: check your connection and try again.");
  expect(sayError(new Error('No matching state found in storage'))).toBe("Signing in didn't work: try again.");
  expect(sayError(new Error('nonce in id_token does not match nonce in client storage'))).toBe("Signing in didn't work: try again.");
  const refused = Object.assign(new Error('access_denied'), { name: 'ErrorResponse', error: 'access_denied' });
  expect(sayError(refused)).toBe('Signing in was refused or cancelled: try again.');
});

test("the app's own checks are shown as sentences; a page fault or protocol text in them is not", () => {
  expect(sayError(new Error('give a meeting id or its join link'))).toBe('Give a meeting id or its join link.');
  expect(sayError(new Error('Presence is shown for at most 50 contacts: remove a contact before adding another.'))).toBe(
    'Presence is shown for at most 50 contacts: remove a contact before adding another.',
  );
  expect(sayError(new TypeError("Cannot read properties of undefined (reading 'roomId')"))).toBe('Something went wrong in this page: reload it and try again.');
  expect(sayError(new Error('“jim@chat.example.com” is not in this meeting.'))).toBe('“jim@chat.example.com” is not in this meeting.');
  expect(sayError(new Error('“NotFound” is not an address: write it like bob@contoso.com.'))).toBe('“NotFound” is not an address: write it like bob@contoso.com.');
  expect(sayError(new Error('room.create: 400 BadRequest: whatever'))).toBe('Something went wrong in this page: reload it and try again.');
  expect(sayError(new Error('could not send chat.grpchat'))).toBe('Something went wrong in this page: reload it and try again.');
  expect(sayError(undefined)).toBe('Something went wrong in this page: reload it and try again.');
  expect(sayError({ weird: true })).toBe('Something went wrong in this page: reload it and try again.');
});

test("the client library's error events, for the shell's bar", () => {
  expect(sayClientError({ message: 'reconnect failed', cause: new Error('connection refused or closed (1006)') })).toBe("Couldn't reconnect yet: trying again.");
  expect(sayClientError({ message: 'reconnect failed', cause: new Error('signed out: sign in again') })).toBe("You're signed out: sign in again.");
  expect(sayClientError({ message: 'gave up reconnecting after 10 attempts' })).toBe("Couldn't reconnect after 10 tries: reload the page to connect again.");
  expect(sayClientError({ message: 'a handler of chat.message threw', cause: new TypeError('x is undefined') })).toBe(
    'Something went wrong in this page: reload it and try again.',
  );
});

test('every command the web app calls, with every status and message the server answers, is said without protocol text', () => {
  const actions = actionsTheAppCalls();
  expect(actions).toEqual(expect.arrayContaining(['room.create', 'conf.join', 'chat.file.upload', 'presence.subscribe', 'im.send', 'chat.grpchat']));
  let checked = 0;
  for (const action of actions) {
    for (const [status, code, message] of SERVER_MESSAGES) {
      for (const retryAfterMs of [undefined, 1500]) {
        expectWords(sayError(new UcError(action, status, code, message, /^field '([^']+)'/.exec(message)?.[1], retryAfterMs)), `${action} ${status} ${code}: ${message}`);
        checked++;
      }
    }
    expectWords(sayError(new ConnectionLostError(action)), `${action} connection lost`);
  }
  expect(checked).toBeGreaterThan(1000);
});

test("every schema's refusal of every field (zod's own wording) is said without protocol text", () => {
  // Wrong values of every kind, for each field of each command alone: zod answers each of its messages.
  const wrong: unknown[] = ['', 'x'.repeat(5000), 'bad', 'a#b*', 'a/b', -1, 0, 1.5, true, {}, [], ['bad'], Array(200).fill('sip:a@b.c'), Array(200).fill('x')];
  const seen = new Set<string>();
  for (const action of Object.keys(commandSchemas) as Action[]) {
    const schema = commandSchemas[action] as unknown as { shape: Record<string, unknown> };
    for (const field of Object.keys(schema.shape)) {
      for (const value of wrong) {
        const parsed = safeParse(commandSchemas[action], { [field]: value });
        for (const issue of parsed.success ? [] : parsed.error.issues) {
          const path = issue.path.join('.');
          // The message as validateArgs (shared/protocol/envelope.ts) writes it.
          const message = path ? `field '${path}': ${issue.message}` : issue.message;
          seen.add(message.replace(/\d+/g, 'N'));
          expectWords(sayError(new UcError(action, 400, 'BadRequest', message, path || undefined)), `${action}: ${message}`);
        }
      }
    }
  }
  expect(seen.size).toBeGreaterThan(30);
});

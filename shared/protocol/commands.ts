import { z } from 'zod';
import { sipUri } from '../auth/identity';
import { availabilities } from '../presence/presence';
import { associationRoles, roomPrivacies, roomTypes } from '../chat/room';
import { MAX_IM_MENTIONS, MAX_MENTIONS, MAX_RESUME_ROOMS } from './limits';

/** Server-made ids are under 40 characters; 64 keeps lists of them within one 32 KB frame (limits.ts). */
const id = z.string().min(1).max(64);
/**
 * `#` separates the parts of the store's keys (`IDEM#{uri}#{command}#…#{clientId}`): a client id holding one
 * could name another command's key, so it is refused rather than escaped (docs/protocol.md, "Reserved characters").
 */
const clientId = z.string().min(1).max(128).refine((value) => !value.includes('#'), "must not contain '#' (reserved)");
/** A category name: `#` separates key parts and `*` names the directory of every category, so both are reserved. */
const categoryName = z
  .string()
  .min(1)
  .max(128)
  .refine((value) => !value.includes('#') && !value.includes('*'), "must not contain '#' or '*' (reserved)");
const cursor = z.string().min(1).max(1024);
/** Users a post mentions (SPEC §9): SIP URIs, at most MAX_MENTIONS. */
const mentions = z.array(sipUri).max(MAX_MENTIONS);

/**
 * The arguments of every command, by action (SPEC §2–§6). A frame whose action is not here is answered
 * 400 by the `$default` route; one whose arguments do not parse is answered 400 naming the field.
 */
export const commandSchemas = {
  ping: z.object({}),
  'chat.getserverinfo': z.object({}),

  'im.send': z
    .object({
      to: z.union([sipUri, z.array(sipUri).min(1).max(49)]).optional(),
      conversationId: id.optional(),
      text: z.string().min(1, 'must not be empty'),
      contentType: z.enum(['text/plain', 'text/html']).default('text/plain'),
      clientMsgId: clientId.optional(),
      /** SPEC §9: participants the message mentions get `im.mention` (MAX_IM_MENTIONS: what the frame budget leaves). */
      mentions: z.array(sipUri).max(MAX_IM_MENTIONS).optional(),
    })
    .superRefine((args, context) => {
      if ((args.to === undefined) === (args.conversationId === undefined)) {
        context.addIssue({ code: 'custom', path: ['to'], message: "give exactly one of 'to' (a new conversation) or 'conversationId'" });
      }
    }),
  'conf.schedule': z.object({
    subject: z.string().min(1).max(256),
    admission: z.enum(['invited', 'organization', 'anyone']).default('organization'),
    autoPromote: z.enum(['scheduledPresenters', 'organization', 'anyone']).default('organization'),
    pstnLobbyBypass: z.boolean().default(true),
    invitees: z.array(sipUri).max(180).default([]),
    presenters: z.array(sipUri).max(20).default([]),
    static: z.boolean().default(false),
    /** With `static: true`: give the user's static meeting space a new id (the old one is deleted). */
    reset: z.boolean().optional(),
    /** Epoch milliseconds or an ISO 8601 date-time. */
    expiresAt: z.union([z.number().int().positive(), z.iso.datetime({ offset: true }).max(64).transform((value) => Date.parse(value))]).optional(),
    clientId: clientId.optional(),
  }),
  'conf.join': z.object({ confId: id }),
  'conf.leave': z.object({ confId: id }),
  /** `rosterCursor`: the rest of a roster cut to one frame (issue 17 item 2). */
  'conf.get': z.object({ confId: id, rosterCursor: cursor.optional() }),
  'conf.update': z
    .object({
      confId: id,
      locked: z.boolean().optional(),
      admission: z.enum(['invited', 'organization', 'anyone']).optional(),
      autoPromote: z.enum(['scheduledPresenters', 'organization', 'anyone']).optional(),
      pstnLobbyBypass: z.boolean().optional(),
    })
    .superRefine((args, context) => {
      if ([args.locked, args.admission, args.autoPromote, args.pstnLobbyBypass].every((value) => value === undefined)) {
        context.addIssue({ code: 'custom', path: ['locked'], message: 'give at least one of locked, admission, autoPromote, pstnLobbyBypass' });
      }
    }),
  'conf.end': z.object({ confId: id }),
  'conf.delete': z.object({ confId: id }),
  'conf.admit': z.object({ confId: id, uri: sipUri }),
  'conf.deny': z.object({ confId: id, uri: sipUri }),
  'conf.content.add': z.object({
    confId: id,
    title: z.string().min(1).max(256),
    kind: z.enum(['link', 'document']),
    body: z.string().min(1).max(4000),
  }),
  'conf.content.list': z.object({ confId: id, cursor: cursor.optional() }),
  /** The caller's meetings (SPEC §9): organized or invited to, newest first; `cursor` from the previous page. */
  'conf.list': z.object({ limit: z.number().int().min(1).max(50).default(20), cursor: cursor.optional() }),
  /** SPEC §9: a presenter removes a participant (who goes through admission again to come back). */
  'conf.eject': z.object({ confId: id, uri: sipUri }),
  /** SPEC §9: a presenter promotes or demotes a participant. */
  'conf.role': z.object({ confId: id, uri: sipUri, role: z.enum(['attendee', 'presenter']) }),
  /** SPEC §9: meeting IM; `text` at most IM_MAX_MESSAGE_BYTES (413, checked by the handler). */
  'conf.message': z.object({ confId: id, text: z.string().min(1, 'must not be empty'), clientMsgId: clientId.optional() }),
  'conf.messages': z.object({ confId: id, before: cursor.optional(), limit: z.number().int().min(1).max(100).optional() }),
  'admin.deleteUser': z.object({ uri: sipUri }),
  'im.typing': z.object({ conversationId: id }),
  'im.keepalive': z.object({ conversationId: id }),
  'im.leave': z.object({ conversationId: id }),
  'im.history': z.object({ conversationId: id, before: cursor.optional(), limit: z.number().int().min(1).max(100).optional() }),
  /** SPEC §9: the author changes a message's text (IM_MAX_MESSAGE_BYTES, 413) or takes it back. */
  'im.edit': z.object({ conversationId: id, messageId: id, text: z.string().min(1, 'must not be empty') }),
  'im.retract': z.object({ conversationId: id, messageId: id }),
  /** Issue 22 item 3: the caller's read marker moves forward to the message (never back). */
  'im.markread': z.object({ conversationId: id, messageId: id }),
  /** Issue 22 item 3: the caller's conversations, latest activity first, with `unread`. */
  'im.conversations': z.object({ limit: z.number().int().min(1).max(50).optional(), cursor: cursor.optional() }),

  'presence.publish': z
    .object({
      availability: z.enum(availabilities).optional(),
      /** Back to the automatic (machine) state: clears an explicit user state. */
      reset: z.literal(true).optional(),
      /** `user`: chosen by the person (wins over machine states); `machine`: reported by the device (idle, in a call). */
      source: z.enum(['user', 'machine']).default('user'),
      activity: z.string().max(64).optional(),
      /** The user's note; an empty one clears it. */
      note: z.string().max(512).optional(),
    })
    .superRefine((args, context) => {
      if ((args.availability === undefined) === (args.reset === undefined)) {
        context.addIssue({ code: 'custom', path: ['availability'], message: "give exactly one of 'availability' or 'reset: true'" });
      } else if (args.reset && args.source === 'machine') {
        context.addIssue({ code: 'custom', path: ['reset'], message: 'only a user state can be reset' });
      }
    }),
  'presence.subscribe': z.object({
    /** Per call; a subscription grows to MAX_TARGETS_PER_SUBSCRIPTION over several. */
    targets: z.array(sipUri).min(1).max(50),
    subscriptionId: id.optional(),
    clientId: clientId.optional(),
  }),
  'presence.refresh': z.object({ subscriptionId: id.optional() }),
  'presence.unsubscribe': z.object({ subscriptionId: id }),
  /** `since`: room id → the last seq seen; each followed room answers what came after it. */
  'session.resume': z.object({
    since: z
      .record(id, z.number().int().min(0))
      .refine((since) => Object.keys(since).length <= MAX_RESUME_ROOMS, `at most ${MAX_RESUME_ROOMS} rooms per session.resume`)
      .optional(),
    /** The previous answer's `cursor`: the next followed rooms (issue 17 item 2: one answer is one frame). */
    cursor: cursor.optional(),
    /** Issue 22 item 3: the `ts` of the last IM the client saw; the answer's `imMessages` are those at or after it. */
    imSince: z.number().int().min(0).optional(),
    /** The previous answer's `imCursor`: the next IM messages since `imSince` (answers those only). */
    imCursor: cursor.optional(),
  }),

  // Persistent chat (SPEC §6): rooms, then the XCCOS-named commands.
  'admin.category.put': z.object({
    category: categoryName,
    /** SIP URIs, domains (`contoso.com`) or `*`. */
    creators: z.array(z.string().min(1).max(128)).max(32),
  }),
  'room.create': z.object({
    name: z.string().trim().min(1).max(256),
    description: z.string().max(1024).default(''),
    category: categoryName.default('general'),
    privacy: z.enum(roomPrivacies).default('open'),
    type: z.enum(roomTypes).default('normal'),
    members: z.array(sipUri).max(120).default([]),
    managers: z.array(sipUri).max(20).default([]),
    presenters: z.array(sipUri).max(20).default([]),
    clientId: clientId.optional(),
  }),
  'room.update': z
    .object({
      roomId: id,
      name: z.string().trim().min(1).max(256).optional(),
      description: z.string().max(1024).optional(),
      privacy: z.enum(roomPrivacies).optional(),
      type: z.enum(roomTypes).optional(),
      members: z.array(sipUri).max(120).optional(),
      managers: z.array(sipUri).min(1).max(20).optional(),
      presenters: z.array(sipUri).max(20).optional(),
    })
    .superRefine((args, context) => {
      const { roomId: _roomId, ...changes } = args;
      if (Object.values(changes).every((value) => value === undefined)) {
        context.addIssue({ code: 'custom', path: ['name'], message: 'give at least one field to change' });
      }
    }),
  'room.delete': z.object({ roomId: id }),
  'room.invite': z.object({ roomId: id, uris: z.array(sipUri).min(1).max(100) }),
  'chat.getassociations': z.object({ role: z.enum(associationRoles).default('member'), cursor: cursor.optional() }),
  'chat.chansrch': z.object({
    query: z.string().max(256).default(''),
    category: categoryName.optional(),
    limit: z.number().int().min(1).max(100).default(50),
    cursor: cursor.optional(),
  }),
  'chat.join': z.object({ roomId: id }),
  'chat.bjoin': z.object({ roomIds: z.array(id).min(1).max(64) }),
  'chat.part': z.object({ roomId: id }),
  'chat.bccontext': z.object({ roomId: id, before: cursor.optional(), limit: z.number().int().min(1).max(100).optional() }),
  'chat.grpchat': z.object({ roomId: id, text: z.string().min(1, 'must not be empty'), clientMsgId: clientId.optional(), fileId: id.optional(), mentions: mentions.optional() }),
  /** SPEC §9: the caller's read marker in the room; it never moves back, nor past the room's latest seq. */
  'chat.markread': z.object({ roomId: id, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  /** SPEC §9: the author changes a message's text (CHAT_MAX_MESSAGE_BYTES, 413); the author or a manager takes it back. */
  'chat.edit': z.object({ roomId: id, messageId: id, text: z.string().min(1, 'must not be empty') }),
  'chat.retract': z.object({ roomId: id, messageId: id }),
  'chat.getinv': z.object({}),
  'chat.declineinv': z.object({ roomId: id }),
  'chat.occupants': z.object({ roomId: id, cursor: cursor.optional() }),
  'chat.search': z.object({ roomId: id, query: z.string().min(1).max(256), limit: z.number().int().min(1).max(100).default(20), cursor: cursor.optional() }),
  /** `size` is checked against CHAT_MAX_FILE_BYTES by the handler (413), and signed into the upload URL. */
  'chat.file.upload': z.object({
    roomId: id,
    // A display name only (the object key is the server's): any characters but controls and path separators.
    fileName: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .refine((name) => ![...name].some((char) => char === '/' || char === '\\' || char < ' ' || char === '\u007f'), 'no control characters, / or \\'),
    size: z.number().int().nonnegative(),
    contentType: z
      .string()
      .max(255)
      .regex(/^[\w.+-]+\/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+-]+)*$/, 'a MIME type such as text/plain')
      .default('application/octet-stream'),
  }),
  'chat.file.download': z.object({ fileId: id }),
} as const;

export type Action = keyof typeof commandSchemas;
export type CommandArgs<A extends Action> = z.infer<(typeof commandSchemas)[A]>;

export function isKnownAction(action: string): action is Action {
  return Object.hasOwn(commandSchemas, action);
}

import { serverInfo } from '../../shared/chat/server-info';
import { TooLargeError } from '../../shared/errors';
import { MAX_FRAME_BYTES } from '../../shared/protocol/limits';
import { makeCommandHandler, type RoutesOf } from './command-handler';
import type { AreaAction } from '../../shared/protocol/actions';
import type { Dependencies } from './dependencies';

/**
 * Persistent chat commands (SPEC §6): parse, authorize in the domain, answer. It lives here rather than
 * in functions/chat.ts so tests can build it over their own dependencies (a throttling store) without
 * loading the entry module, whose scope builds the production ones.
 */
export function makeChatHandler(deps: Pick<Dependencies, 'config' | 'chat'>) {
  return makeCommandHandler({
    'chat.getserverinfo': async () => serverInfo(deps.config, MAX_FRAME_BYTES),
    'admin.category.put': async (args, { identity }) => deps.chat.putCategory(identity, args),
    'room.create': async ({ clientId, ...definition }, { identity }) => deps.chat.createRoom(identity, definition, clientId),
    'room.update': async ({ roomId, ...changes }, { identity }) => deps.chat.updateRoom(identity, roomId, changes).then((room) => ({ roomId: room.roomId, version: room.version })),
    'room.delete': async ({ roomId }, { identity }) => deps.chat.deleteRoom(identity, roomId),
    'room.invite': async ({ roomId, uris }, { identity }) => deps.chat.invite(identity, roomId, uris),
    'chat.getassociations': async ({ role, cursor }, { identity }) => deps.chat.associations(identity, role, cursor),
    'chat.chansrch': async ({ query, category, limit, cursor }, { identity }) => deps.chat.searchRooms(identity, query, category, limit, cursor),
    'chat.join': async ({ roomId }, context) => deps.chat.join(context, roomId),
    'chat.bjoin': async ({ roomIds }, context) => deps.chat.joinMany(context, roomIds),
    'chat.part': async ({ roomId }, context) => deps.chat.part(context, roomId),
    'chat.bccontext': async ({ roomId, before, limit }, context) => deps.chat.history(context, roomId, limit, before),
    'chat.grpchat': async (args, context) => {
      if (Buffer.byteLength(args.text, 'utf8') > deps.config.CHAT_MAX_MESSAGE_BYTES) {
        throw new TooLargeError(`field 'text': over ${deps.config.CHAT_MAX_MESSAGE_BYTES} bytes`);
      }
      return deps.chat.post(context, args);
    },
    'chat.edit': async (args, context) => {
      if (Buffer.byteLength(args.text, 'utf8') > deps.config.CHAT_MAX_MESSAGE_BYTES) {
        throw new TooLargeError(`field 'text': over ${deps.config.CHAT_MAX_MESSAGE_BYTES} bytes`);
      }
      return deps.chat.edit(context, args);
    },
    'chat.retract': async (args, context) => deps.chat.retract(context, args),
    'chat.markread': async ({ roomId, seq }, context) => deps.chat.markRead(context, roomId, seq),
    'chat.getinv': async (_args, { identity }) => deps.chat.invitations(identity),
    'chat.declineinv': async ({ roomId }, { identity }) => deps.chat.declineInvitation(identity, roomId),
    'chat.occupants': async ({ roomId, cursor }, { identity }) => deps.chat.occupants(identity, roomId, cursor),
    'chat.search': async ({ roomId, query, limit, cursor }, context) => deps.chat.search(context, roomId, query, limit, cursor),
    'chat.file.upload': async (args, context) => {
      if (args.size > deps.config.CHAT_MAX_FILE_BYTES) throw new TooLargeError(`field 'size': over ${deps.config.CHAT_MAX_FILE_BYTES} bytes`);
      return deps.chat.uploadFile(context, args);
    },
    'chat.file.download': async ({ fileId }, context) => deps.chat.downloadFile(context, fileId),
  } satisfies RoutesOf<AreaAction<'chat'>>);
}

import type { Config } from '../config';

export const SERVER_VERSION = '0.1.0';

/** `chat.getserverinfo` (XCCOS): what a client needs to know before it sends. */
export function serverInfo(config: Pick<Config, 'CHAT_MAX_MESSAGE_BYTES' | 'CHAT_HISTORY_PAGE_SIZE' | 'CHAT_MAX_FILE_BYTES'>, maxFrameBytes: number) {
  return {
    serverVersion: SERVER_VERSION,
    protocol: 'uc-ws/1',
    limits: {
      maxMessageBytes: config.CHAT_MAX_MESSAGE_BYTES,
      historyPageSize: config.CHAT_HISTORY_PAGE_SIZE,
      maxFrameBytes,
      maxFileBytes: config.CHAT_MAX_FILE_BYTES,
    },
    features: [
      'ping',
      'admin.category.put',
      'room.create',
      'room.update',
      'room.delete',
      'room.invite',
      'chat.getassociations',
      'chat.chansrch',
      'chat.join',
      'chat.bjoin',
      'chat.part',
      'chat.bccontext',
      'chat.grpchat',
      'chat.getinv',
      'chat.search',
      'chat.file.upload',
      'chat.file.download',
      'session.resume',
    ],
  };
}

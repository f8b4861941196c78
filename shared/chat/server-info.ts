import type { Config } from '../config';
import { CHAT_ACTIONS, SESSION_ACTIONS, SYSTEM_ACTIONS } from '../protocol/actions';

export const SERVER_VERSION = '0.1.0';

/**
 * The commands `chat.getserverinfo` announces, from the areas' lists (shared/protocol/actions.ts): the keep-alive,
 * every chat command but itself, and `session.resume`.
 */
export const SERVER_FEATURES: readonly string[] = [...SYSTEM_ACTIONS, ...CHAT_ACTIONS.filter((action) => action !== 'chat.getserverinfo'), ...SESSION_ACTIONS];

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
    features: SERVER_FEATURES,
  };
}

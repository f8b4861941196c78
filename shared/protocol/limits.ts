/**
 * API Gateway's WebSocket frame limit for a client frame: 32 KB, i.e. 32,768 bytes of frame payload. A larger
 * frame is refused (close 1009) before any handler runs, so every command's caps fit in it (commands.ts;
 * test/unit/protocol/frame-budget.test.ts builds the largest valid command of every action).
 */
export const MAX_FRAME_BYTES = 32 * 1024;

/** API Gateway's message payload limit: the largest server frame (`postToConnection`, a route response): 128 KB. */
export const MAX_SERVER_FRAME_BYTES = 128 * 1024;

/** `session.resume`'s `since`: rooms per frame, so the largest one (with `cursor`, `imSince` and `imCursor`) fits in MAX_FRAME_BYTES. */
export const MAX_RESUME_ROOMS = 48;

/** `mentions` of `chat.grpchat` (SPEC §9): users one post names at most (each a counter write and an event). */
export const MAX_MENTIONS = 20;

/**
 * `mentions` of `im.send`: its largest frame (49 recipients in `to`, a 4,000-byte text of characters JSON escapes in
 * 6 bytes) leaves room for 2 URIs of 128 characters under 32 KB (test/unit/shared/protocol/frame-budget.test.ts).
 */
export const MAX_IM_MENTIONS = 2;

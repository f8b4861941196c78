/** API Gateway's WebSocket message limit: larger frames are refused (close 1009) before any handler runs. */
export const MAX_FRAME_BYTES = 128 * 1024;

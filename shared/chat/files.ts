import { BadRequestError, GoneError, NotFoundError } from '../errors';
import type { ChatFile, FileView } from './ports';

/** Every chat file's object key starts here; the stack grants the chat function this prefix only. */
export const FILE_KEY_PREFIX = 'rooms/';

/** The object key: the room and the server's id, never the client's file name (no traversal, no clashes). */
export function fileObjectKey(roomId: string, fileId: string): string {
  return `${FILE_KEY_PREFIX}${roomId}/${fileId}`;
}

export function fileView(file: ChatFile): FileView {
  return { fileId: file.fileId, name: file.name, size: file.size, contentType: file.contentType };
}

/** A message may carry only a file uploaded to its own room, and not one a retraction took back (410). */
export function assertFileInRoom(file: ChatFile | undefined, fileId: string, roomId: string): ChatFile {
  if (!file) throw new NotFoundError(`no file ${fileId}`);
  if (file.roomId !== roomId) throw new BadRequestError(`field 'fileId': file ${fileId} was not uploaded to room ${roomId}`, 'fileId');
  if (file.retractedAt !== undefined) throw new GoneError(`file ${fileId} was retracted`);
  return file;
}

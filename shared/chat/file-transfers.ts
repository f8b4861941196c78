import { GoneError, NotFoundError, QuotaExceededError } from '../errors';
import { archiveCommand } from './command-events';
import type { ChatCaller, ChatDependencies } from './dependencies';
import { fileObjectKey } from './files';
import type { ChatFile } from './ports';
import { assertMayPost, assertMayRead, assertVisible, canSeeRoom } from './room';

/** `chat.file.upload` and `chat.file.download`: the bytes travel through presigned URLs, never through a function. */
export class FileTransfers {
  constructor(private readonly deps: ChatDependencies) {}

  /**
   * `chat.file.upload`: whoever may post in the room records a file and gets a URL to PUT its bytes to
   * (the size limit is the handler's). The bytes never pass through the function.
   */
  async uploadFile(caller: ChatCaller, command: { roomId: string; fileName: string; size: number; contentType: string }) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), identity.uri, command.roomId);
    assertMayPost(room, identity.uri);
    const maxFiles = this.deps.quotas?.maxFilesPerRoom;
    if (maxFiles !== undefined && !(await this.deps.store.takeFileSlot(room.roomId, maxFiles))) {
      throw new QuotaExceededError('MAX_FILES_PER_ROOM', maxFiles, `room ${room.roomId} holds that many files`);
    }
    const now = this.deps.clock.now();
    const fileId = this.deps.newId('file');
    const file: ChatFile = {
      fileId,
      roomId: room.roomId,
      uploader: identity.uri.toLowerCase(),
      name: command.fileName,
      size: command.size,
      contentType: command.contentType,
      key: fileObjectKey(room.roomId, fileId),
      createdAt: now,
    };
    await this.deps.store.putFile(file);
    const upload = await this.deps.files.uploadUrl(file, this.deps.fileUrlSeconds, now);
    await archiveCommand(this.deps.compliance, caller, 'chat.file.upload', room, now, fileDetails(file));
    return { fileId, uploadUrl: upload.url, expiresAt: upload.expiresAt };
  }

  /**
   * `chat.file.download`: whoever may read the file's room gets a URL to GET it. A file of a room the
   * caller may not see (secret, deleted) does not exist for them: 404 naming the file, not the room. The file of a
   * retracted message is gone for everyone: 410 (its bytes stay for the compliance archive; no new URL is signed).
   */
  async downloadFile(caller: ChatCaller, fileId: string) {
    const { identity } = caller;
    const file = await this.deps.store.getFile(fileId);
    const room = file ? await this.deps.store.getRoom(file.roomId) : undefined;
    if (!file || !room || !canSeeRoom(room, identity.uri)) throw new NotFoundError(`no file ${fileId}`);
    assertMayRead(room, identity.uri);
    if (file.retractedAt !== undefined) throw new GoneError(`file ${fileId} was retracted`);
    const now = this.deps.clock.now();
    const download = await this.deps.files.downloadUrl(file, this.deps.fileUrlSeconds, now);
    await archiveCommand(this.deps.compliance, caller, 'chat.file.download', room, now, fileDetails(file));
    return { fileId, fileName: file.name, size: file.size, contentType: file.contentType, downloadUrl: download.url, expiresAt: download.expiresAt };
  }
}

function fileDetails(file: ChatFile): Record<string, string | number> {
  return { fileId: file.fileId, fileName: file.name, size: file.size, contentType: file.contentType };
}

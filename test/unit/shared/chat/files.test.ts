import { S3Client } from '@aws-sdk/client-s3';
import { S3FileStorage } from '../../../../shared/adapters/s3-file-storage';
import { s3ClientConfig } from '../../../../shared/adapters/aws-clients/s3';
import { assertFileInRoom, fileObjectKey } from '../../../../shared/chat/files';
import type { ChatFile } from '../../../../shared/chat/ports';
import { BadRequestError, NotFoundError } from '../../../../shared/errors';
import { commandSchemas } from '../../../../shared/protocol/commands';

const file: ChatFile = {
  fileId: 'file_1',
  roomId: 'room_1',
  uploader: 'sip:alice@contoso.com',
  name: 'Q3 "final" é.pdf',
  size: 1234,
  contentType: 'application/pdf',
  key: fileObjectKey('room_1', 'file_1'),
  createdAt: 0,
};

describe('file rules', () => {
  test('the object key is the room and the server id, never the client name', () => {
    expect(file.key).toBe('rooms/room_1/file_1');
  });

  test('a post may carry only a file of its own room', () => {
    expect(assertFileInRoom(file, 'file_1', 'room_1')).toBe(file);
    expect(() => assertFileInRoom(file, 'file_1', 'room_2')).toThrow(BadRequestError);
    expect(() => assertFileInRoom(undefined, 'file_9', 'room_1')).toThrow(NotFoundError);
  });

  test('chat.file.upload arguments: file names without path separators or controls, MIME types', () => {
    const schema = commandSchemas['chat.file.upload'];
    expect(schema.parse({ roomId: 'r', fileName: ' notes.txt ', size: 0 })).toEqual({ roomId: 'r', fileName: 'notes.txt', size: 0, contentType: 'application/octet-stream' });
    for (const fileName of ['a/b', 'a\\b', 'bell\u0007', '']) expect(schema.safeParse({ roomId: 'r', fileName, size: 1 }).success).toBe(false);
    expect(schema.safeParse({ roomId: 'r', fileName: 'x', size: 1, contentType: 'text/plain; charset=utf-8' }).success).toBe(true);
    expect(schema.safeParse({ roomId: 'r', fileName: 'x', size: 1, contentType: 'not a type' }).success).toBe(false);
    expect(schema.safeParse({ roomId: 'r', fileName: 'x', size: 1.5 }).success).toBe(false);
  });
});

describe('S3FileStorage (signing is local: no request is made)', () => {
  // The production settings for AWS (no endpoint override), with the endpoint pinned so a shell's AWS_ENDPOINT_URL does not leak in.
  const client = new S3Client({
    ...s3ClientConfig(undefined),
    endpoint: 'https://s3.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const storage = new S3FileStorage(client, 'uc-files');
  const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

  test('an upload URL signs the length and type, carries no checksum, and expires from its whole-second date', async () => {
    const signed = await storage.uploadUrl(file, 300, now);
    const url = new URL(signed.url);
    expect(`${url.hostname}${url.pathname}`).toBe('uc-files.s3.eu-west-1.amazonaws.com/rooms/room_1/file_1');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20250102T030405Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect([...url.searchParams.keys()].some((name) => name.toLowerCase().includes('checksum'))).toBe(false);
    expect(signed.expiresAt).toBe(Date.UTC(2025, 0, 2, 3, 9, 5));
  });

  test('a download URL serves the type and an attachment named after the file', async () => {
    const url = new URL((await storage.downloadUrl(file, 60, now)).url);
    expect(url.searchParams.get('response-content-type')).toBe('application/pdf');
    expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="Q3 _final_ _.pdf"; filename*=UTF-8''${encodeURIComponent(file.name)}`);
  });
});

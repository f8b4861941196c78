import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ChatFile, FileStorage, SignedUrl } from '../chat/ports';

/**
 * Chat files in an S3 bucket, reached by clients through SigV4 presigned URLs: the function never
 * carries the bytes. Signing is local (no request to S3), so it costs no round trip.
 */
export class S3FileStorage implements FileStorage {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async uploadUrl(file: ChatFile, expiresInSeconds: number, now: number): Promise<SignedUrl> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: file.key, ContentType: file.contentType, ContentLength: file.size });
    // Signed headers: S3 refuses a PUT whose length or type differs, so the size limit holds for the bytes too.
    return this.sign(command, expiresInSeconds, now, new Set(['content-type', 'content-length']));
  }

  async downloadUrl(file: ChatFile, expiresInSeconds: number, now: number): Promise<SignedUrl> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: file.key,
      ResponseContentType: file.contentType,
      ResponseContentDisposition: attachment(file.name),
    });
    return this.sign(command, expiresInSeconds, now);
  }

  private async sign(command: PutObjectCommand | GetObjectCommand, expiresIn: number, now: number, signableHeaders?: Set<string>): Promise<SignedUrl> {
    const signingDate = new Date(now);
    const url = await getSignedUrl(this.client, command, { expiresIn, signingDate, ...(signableHeaders ? { signableHeaders } : {}) });
    // S3 counts from X-Amz-Date, which has whole seconds.
    return { url, expiresAt: Math.floor(now / 1000) * 1000 + expiresIn * 1000 };
  }
}

/** `attachment` with an ASCII fallback and the UTF-8 name (RFC 6266), so any file name survives. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

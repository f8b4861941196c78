import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveFormat } from '../compliance/formats';
import type { ComplianceArchive, ExportBatch } from '../compliance/ports';

/**
 * The archive as an S3 bucket (AWS): one object per batch, `{prefix}{batchId}.{ext}`, written with
 * `If-None-Match: *` so S3 itself refuses a second write of the same batch (412 Precondition Failed).
 */
export class S3Archive implements ComplianceArchive {
  readonly location: string;

  constructor(
    private readonly client: Pick<S3Client, 'send'>,
    private readonly bucket: string,
    private readonly format: ArchiveFormat,
    private readonly prefix = 'compliance/',
  ) {
    this.location = `s3://${bucket}/${prefix}`;
  }

  async write(batch: ExportBatch): Promise<'written' | 'exists'> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${this.prefix}${batch.batchId}.${this.format.extension}`,
          Body: this.format.render(batch),
          ContentType: this.format.contentType,
          IfNoneMatch: '*',
        }),
      );
      return 'written';
    } catch (error) {
      if (isAlreadyThere(error)) return 'exists';
      // 409 ConditionalRequestConflict (a concurrent write of the same key) included: the next run retries.
      throw error;
    }
  }
}

function isAlreadyThere(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return failure?.name === 'PreconditionFailed' || failure?.$metadata?.httpStatusCode === 412;
}

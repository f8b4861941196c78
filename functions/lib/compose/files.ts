import { s3Client } from '../../../shared/adapters/aws-clients/s3';
import { S3FileStorage } from '../../../shared/adapters/s3-file-storage';
import type { FileStorage } from '../../../shared/chat/ports';
import type { Config } from '../../../shared/config';
import { filesOnFirstUse } from './lazy';

let files: FileStorage | undefined;

/** Chat files in the files bucket (presigned URLs), once per process; the S3 client is built at the first signature. */
export function s3FileStorage(config: Config): FileStorage {
  files ??= filesOnFirstUse(() => new S3FileStorage(s3Client(), config.FILES_BUCKET));
  return files;
}

import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { translateAwsErrors } from '../aws-errors';

/**
 * With an endpoint override (the local cloud, LocalStack) buckets are addressed by path, since
 * `{bucket}.localhost` does not resolve. Checksums only when required: since SDK 3.729 a presigned PUT
 * would otherwise carry the CRC32 of an empty body, and S3 would refuse every real upload through it.
 */
export function s3ClientConfig(endpointUrl = process.env.AWS_ENDPOINT_URL): S3ClientConfig {
  return { forcePathStyle: Boolean(endpointUrl), requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' };
}

let client: S3Client | undefined;

/** S3's client (chat files' presigned URLs, the compliance archive), one per process. */
export function s3Client(): S3Client {
  if (client) return client;
  client = new S3Client(s3ClientConfig());
  translateAwsErrors(client, 's3');
  return client;
}

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createEdgeServer, type EdgeRequest, type EdgeService } from '../../infra/local/edge';
import { LocalS3 } from '../../infra/local/s3';

/** Contract tests of the local S3, driven by the real AWS SDK v3 client and presigner over path-style REST. */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local-secret' };

/** Stands for the services mounted after S3 on the edge: whatever S3 does not claim reaches it. */
class Fallthrough implements EdgeService {
  readonly name = 'fallthrough';
  readonly seen: string[] = [];
  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    this.seen.push(`${request.method} ${request.path}`);
    response.writeHead(299).end();
    return true;
  }
}

interface Endpoint {
  server: Server;
  url: string;
  s3: LocalS3;
  fallthrough: Fallthrough;
}

async function listen(s3: LocalS3): Promise<Endpoint> {
  const fallthrough = new Fallthrough();
  const server = createEdgeServer(() => [s3, fallthrough]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, s3, fallthrough };
}

function clientFor(url: string, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', ...extra });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('local S3 (in memory)', () => {
  let now = Date.now();
  let endpoint: Endpoint;
  let client: S3Client;
  const bucket = 'contract-bucket';

  beforeAll(async () => {
    endpoint = await listen(new LocalS3({ credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey }, now: () => now }));
    client = clientFor(endpoint.url);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    client.destroy();
    await close(endpoint.server);
  });
  beforeEach(() => {
    now = Date.now();
  });

  test('CreateBucket twice answers BucketAlreadyOwnedByYou; HeadBucket finds it; a missing bucket is NoSuchBucket', async () => {
    await expect(client.send(new CreateBucketCommand({ Bucket: bucket }))).rejects.toBeInstanceOf(BucketAlreadyOwnedByYou);
    await expect(client.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    await expect(client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toBeInstanceOf(NoSuchBucket);
  });

  test('PutObject, GetObject, HeadObject and DeleteObject keep bytes, type, metadata and ETag', async () => {
    const key = 'dir/hello wörld+1.txt';
    const bytes = Buffer.from('hello, local S3');
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'text/plain', Metadata: { owner: 'alice' } }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(bytes);
    expect(got).toMatchObject({ ContentType: 'text/plain', ContentLength: bytes.length, ETag: put.ETag, Metadata: { owner: 'alice' } });

    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head).toMatchObject({ ContentLength: bytes.length, ETag: put.ETag });

    const range = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=7-11' }));
    expect(await range.Body!.transformToString()).toBe('local');

    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toBeInstanceOf(NoSuchKey);
  });

  test('a client with the SDK default checksums stores the bytes (checksum header or aws-chunked body)', async () => {
    const defaults = clientFor(endpoint.url, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    try {
      await defaults.send(new PutObjectCommand({ Bucket: bucket, Key: 'checksummed.bin', Body: Buffer.from('checked bytes') }));
      const got = await defaults.send(new GetObjectCommand({ Bucket: bucket, Key: 'checksummed.bin' }));
      expect(await got.Body!.transformToString()).toBe('checked bytes');
    } finally {
      defaults.destroy();
    }
  });

  test('ListObjectsV2: prefix, delimiter, and pages with a continuation token', async () => {
    for (const key of ['list/a.txt', 'list/b.txt', 'list/c.txt', 'list/sub/d.txt', 'other/e.txt']) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
    const all = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/' }));
    expect(all.Contents?.map((item) => item.Key)).toEqual(['list/a.txt', 'list/b.txt', 'list/c.txt', 'list/sub/d.txt']);
    expect(all).toMatchObject({ KeyCount: 4, IsTruncated: false });
    expect(all.Contents?.[0]).toMatchObject({ Size: 'list/a.txt'.length, ETag: expect.stringMatching(/^"/) });

    const grouped = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }));
    expect(grouped.Contents?.map((item) => item.Key)).toEqual(['list/a.txt', 'list/b.txt', 'list/c.txt']);
    expect(grouped.CommonPrefixes?.map((common) => common.Prefix)).toEqual(['list/sub/']);

    const first = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', MaxKeys: 2 }));
    expect(first.Contents?.map((item) => item.Key)).toEqual(['list/a.txt', 'list/b.txt']);
    expect(first.IsTruncated).toBe(true);
    const second = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', MaxKeys: 2, ContinuationToken: first.NextContinuationToken }));
    expect(second.Contents?.map((item) => item.Key)).toEqual(['list/c.txt', 'list/sub/d.txt']);
    expect(second.IsTruncated).toBe(false);
  });

  test('presigned GET and PUT work with plain fetch; the GET URL can set the served type and disposition', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'presigned/get.txt', Body: 'presigned bytes', ContentType: 'text/plain' }));
    const getUrl = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: bucket, Key: 'presigned/get.txt', ResponseContentDisposition: 'attachment; filename="get.txt"' }),
      { expiresIn: 60 },
    );
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('presigned bytes');
    expect(got.headers.get('content-disposition')).toBe('attachment; filename="get.txt"');

    const body = Buffer.from([0, 1, 2, 250, 255]);
    const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: 'presigned/put.bin', ContentType: 'application/octet-stream', ContentLength: body.length }), {
      expiresIn: 60,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(200);
    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'presigned/put.bin' }));
    expect(Buffer.from(await stored.Body!.transformToByteArray())).toEqual(body);
    // The length is a signed header: more bytes than declared do not match the signature, as on S3.
    const larger = await fetch(putUrl, { method: 'PUT', body: Buffer.concat([body, body]), headers: { 'content-type': 'application/octet-stream' } });
    expect(larger.status).toBe(403);
    expect(await larger.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  test('an expired presigned URL is refused with 403 AccessDenied, as an S3 XML error', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/get.txt' }), { expiresIn: 60, signingDate: new Date(now) });
    now += 61_000;
    const refused = await fetch(url);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/xml');
    const text = await refused.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<Message>Request has expired</Message>');
  });

  test('a signature made with the known key must match; an unknown key or no signature is refused', async () => {
    const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/get.txt' }), { expiresIn: 60 }));
    url.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const tampered = await fetch(url);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

    const stranger = clientFor(endpoint.url, { credentials: { accessKeyId: 'someone-else', secretAccessKey: 'whatever' } });
    try {
      await expect(stranger.send(new GetObjectCommand({ Bucket: bucket, Key: 'presigned/get.txt' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      stranger.destroy();
    }
    const unsigned = await fetch(`${endpoint.url}/${bucket}/presigned/get.txt`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain('<Code>AccessDenied</Code>');
    expect((await fetch(`${endpoint.url}/${bucket}?list-type=2`)).status).toBe(403);
  });

  test('requests of other services on the same endpoint are not claimed', async () => {
    const scope = (service: string) => `AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
    const requests: Array<[string, RequestInit]> = [
      ['/', { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem', authorization: scope('dynamodb') }, body: '{}' }],
      ['/', { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.SendMessage', authorization: scope('sqs') }, body: '{}' }],
      ['/schedules', { method: 'GET', headers: { authorization: scope('scheduler') } }],
      ['/@connections/abc', { method: 'POST', headers: { authorization: scope('execute-api') }, body: 'hi' }],
      ['/not-a-bucket/key', { method: 'GET' }],
    ];
    for (const [path, init] of requests) expect((await fetch(`${endpoint.url}${path}`, init)).status).toBe(299);
    expect(endpoint.fallthrough.seen).toEqual(['POST /', 'POST /', 'GET /schedules', 'POST /@connections/abc', 'GET /not-a-bucket/key']);
  });

  test('a key that cannot be a file path is refused', async () => {
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/../b', Body: 'x' }))).rejects.toMatchObject({ name: 'InvalidArgument' });
  });
});

describe('local S3 on disk', () => {
  test('objects live under {dataDir}/s3/{bucket}/{key} and survive a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-s3-'));
    try {
      const first = await listen(new LocalS3({ dataDir, credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey } }));
      const firstClient = clientFor(first.url);
      await firstClient.send(new CreateBucketCommand({ Bucket: 'disk-bucket' }));
      await firstClient.send(new PutObjectCommand({ Bucket: 'disk-bucket', Key: 'rooms/r1/f1', Body: 'kept on disk', ContentType: 'text/plain' }));
      firstClient.destroy();
      await close(first.server);
      expect(readFileSync(join(dataDir, 's3', 'disk-bucket', 'rooms', 'r1', 'f1'), 'utf8')).toBe('kept on disk');

      const second = await listen(new LocalS3({ dataDir, credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey } }));
      const secondClient = clientFor(second.url);
      const got = await secondClient.send(new GetObjectCommand({ Bucket: 'disk-bucket', Key: 'rooms/r1/f1' }));
      expect(got.ContentType).toBe('text/plain');
      expect(await got.Body!.transformToString()).toBe('kept on disk');
      await secondClient.send(new DeleteObjectCommand({ Bucket: 'disk-bucket', Key: 'rooms/r1/f1' }));
      expect(existsSync(join(dataDir, 's3', 'disk-bucket', 'rooms', 'r1', 'f1'))).toBe(false);
      secondClient.destroy();
      await close(second.server);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

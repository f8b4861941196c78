import { createHash, createHmac } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { startTestCloud, type TestCloud } from '../support/cloud';

/**
 * Issue 17 items 6 and 7: every service of the local cloud's endpoint (S3, SQS, Scheduler, the `@connections`
 * management API, the DynamoDB pass-through) takes only requests signed (SigV4) with the local credentials,
 * recomputed by the endpoint; unsigned, unknown-key, wrong-secret and expired requests are refused.
 */

let cloud: TestCloud;
let credentials: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  cloud = await startTestCloud();
  credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! };
});
afterAll(async () => {
  await cloud.stop();
});

/** SHA-256 and its HMAC for the SDK's own signer. */
class Sha256 {
  private hash;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh() {
    const secret = this.secret;
    if (secret === undefined) return createHash('sha256');
    return createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(ArrayBuffer.isView(secret) ? secret.buffer : secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  reset(): void {
    this.hash = this.fresh();
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

interface Probe {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The status of the request when signed properly. */
  readonly okStatus: number;
}

const probes = (): Record<string, Probe> => ({
  sqs: { service: 'sqs', method: 'POST', path: '/', headers: { 'x-amz-target': 'AmazonSQS.ListQueues', 'content-type': 'application/x-amz-json-1.0' }, body: '{}', okStatus: 200 },
  scheduler: { service: 'scheduler', method: 'GET', path: '/schedules', okStatus: 200 },
  // A connection that does not exist: GoneException once the signature is accepted.
  'management API': { service: 'execute-api', method: 'POST', path: '/@connections/bm8tc3VjaA%3D%3D', headers: { 'content-type': 'application/json' }, body: '{"forged":true}', okStatus: 410 },
  dynamodb: { service: 'dynamodb', method: 'POST', path: '/', headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables', 'content-type': 'application/x-amz-json-1.0' }, body: '{}', okStatus: 200 },
  's3 list': { service: 's3', method: 'GET', path: `/${cloud.cloud.config.FILES_BUCKET}`, query: { 'list-type': '2' }, okStatus: 200 },
});

/** The probe as fetch sends it, signed by the SDK's SigV4 signer with these credentials at this date, or unsigned. */
async function send(probe: Probe, signing?: { accessKeyId: string; secretAccessKey: string; signingDate?: Date }): Promise<Response> {
  const url = new URL(cloud.cloud.url);
  const request = {
    method: probe.method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: probe.path,
    query: probe.query ?? {},
    headers: { host: url.host, ...(probe.headers ?? {}), ...(probe.service === 's3' ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : {}) },
    body: probe.body,
  };
  let headers: Record<string, string> = request.headers;
  if (signing) {
    const signer = new SignatureV4({ service: probe.service, region: 'us-east-1', credentials: signing, sha256: Sha256, uriEscapePath: probe.service !== 's3' });
    headers = (await signer.sign(request, { signingDate: signing.signingDate ?? new Date() })).headers;
  }
  const query = new URLSearchParams(request.query).toString();
  const { host: _host, ...sent } = headers;
  return fetch(`${cloud.cloud.url}${probe.path}${query ? `?${query}` : ''}`, { method: probe.method, headers: sent, body: probe.body });
}

describe.each(['sqs', 'scheduler', 'management API', 'dynamodb', 's3 list'])('%s', (name) => {
  const probe = () => probes()[name]!;

  test('a request signed with the local credentials is served', async () => {
    expect((await send(probe(), credentials)).status).toBe(probe().okStatus);
  });

  test('an unsigned request is refused (403)', async () => {
    const response = await send(probe());
    expect(response.status).toBe(403);
  });

  test('a made-up access key is refused (403)', async () => {
    expect((await send(probe(), { accessKeyId: 'AKIAMADEUPKEY', secretAccessKey: credentials.secretAccessKey })).status).toBe(403);
  });

  test('the local access key with another secret is refused (403): the signature is recomputed', async () => {
    expect((await send(probe(), { accessKeyId: credentials.accessKeyId, secretAccessKey: 'not-the-local-secret' })).status).toBe(403);
  });

  test('a signature made 20 minutes ago is refused (403): expired', async () => {
    expect((await send(probe(), { ...credentials, signingDate: new Date(Date.now() - 20 * 60_000) })).status).toBe(403);
  });
});

describe('S3 objects (item 6)', () => {
  let s3: S3Client;
  const key = 'rooms/secret-room/files/f1';
  beforeAll(async () => {
    s3 = new S3Client({ endpoint: cloud.cloud.url, region: 'us-east-1', credentials, forcePathStyle: true });
    await s3.send(new PutObjectCommand({ Bucket: cloud.cloud.config.FILES_BUCKET, Key: key, Body: 'secret bytes' }));
  });
  afterAll(() => s3.destroy());

  const objectUrl = () => `${cloud.cloud.url}/${cloud.cloud.config.FILES_BUCKET}/${key}`;

  test('an unsigned GET, even from a browser origin, is refused and reads nothing', async () => {
    const response = await fetch(objectUrl(), { headers: { origin: 'http://evil.example' } });
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).not.toContain('secret bytes');
  });

  test('an unsigned PUT is refused and overwrites nothing', async () => {
    expect((await fetch(objectUrl(), { method: 'PUT', body: 'overwritten' })).status).toBe(403);
    const got = await s3.send(new GetObjectCommand({ Bucket: cloud.cloud.config.FILES_BUCKET, Key: key }));
    expect(await got.Body!.transformToString()).toBe('secret bytes');
  });

  test('a client with a made-up access key is refused (InvalidAccessKeyId)', async () => {
    const stranger = new S3Client({ endpoint: cloud.cloud.url, region: 'us-east-1', credentials: { accessKeyId: 'made-up', secretAccessKey: 'whatever' }, forcePathStyle: true });
    try {
      await expect(stranger.send(new GetObjectCommand({ Bucket: cloud.cloud.config.FILES_BUCKET, Key: key }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      stranger.destroy();
    }
  });

  test('an expired presigned URL stays refused once its query string is removed', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: cloud.cloud.config.FILES_BUCKET, Key: key }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url.split('?')[0]!)).status).toBe(403);
  });

  test('a fresh presigned URL reads the object, with CORS for the browser', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: cloud.cloud.config.FILES_BUCKET, Key: key }), { expiresIn: 60 });
    const response = await fetch(url, { headers: { origin: 'http://localhost:3001' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.text()).toBe('secret bytes');
  });
});

describe('the SDK and the AWS CLI', () => {
  test('the SDK with the local credentials lists queues; with a wrong secret it is refused', async () => {
    const good = new SQSClient({ endpoint: cloud.cloud.url, region: 'us-east-1', credentials });
    const bad = new SQSClient({ endpoint: cloud.cloud.url, region: 'us-east-1', credentials: { ...credentials, secretAccessKey: 'wrong' }, maxAttempts: 1 });
    try {
      expect((await good.send(new ListQueuesCommand({}))).QueueUrls?.length).toBeGreaterThan(0);
      await expect(bad.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    } finally {
      good.destroy();
      bad.destroy();
    }
  });

  // This machine's AWS CLI is v1, which does not read AWS_ENDPOINT_URL (v2 does): the endpoint goes in --endpoint-url.
  test('aws sqs list-queues works with the local credentials and fails with others', async () => {
    const run = promisify(execFile);
    const env = (accessKeyId: string, secretAccessKey: string) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_MAX_ATTEMPTS: '1',
    });
    const listed = await run('aws', ['sqs', 'list-queues', '--output', 'json', '--endpoint-url', cloud.cloud.url], { env: env(credentials.accessKeyId, credentials.secretAccessKey) });
    expect(JSON.parse(listed.stdout)).toMatchObject({ QueueUrls: expect.arrayContaining([expect.stringContaining(cloud.cloud.url)]) });
    await expect(run('aws', ['sqs', 'list-queues', '--endpoint-url', cloud.cloud.url], { env: env(credentials.accessKeyId, 'wrong-secret') })).rejects.toMatchObject({ code: 255 });
  });
});

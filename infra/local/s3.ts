import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join, resolve, sep } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EdgeRequest, EdgeService } from './edge';
import { isSignedForS3, type LocalCredentials, rawPath, SignatureError, verifySignature } from './sigv4';

/**
 * The local cloud's S3: path-style REST (`/{bucket}/{key}`), enough for the app and its tests:
 * CreateBucket, HeadBucket, DeleteBucket, ListBuckets, ListObjectsV2 (prefix, delimiter, paging),
 * PutObject, GetObject (single ranges, `response-content-*` overrides), HeadObject, DeleteObject, browser
 * CORS, and presigned URLs. Every request but a CORS preflight must carry a SigV4 signature (the
 * Authorization header or a presigned URL) made with a key of `credentials` (the local cloud's own) and
 * recomputed here (infra/local/sigv4.ts): unsigned is 403 AccessDenied, an unknown key 403
 * InvalidAccessKeyId, a wrong signature 403 SignatureDoesNotMatch, a presigned URL past
 * `X-Amz-Date + X-Amz-Expires` 403 AccessDenied, as S3 answers. Not emulated: multipart uploads, versioning, ACLs, tagging, virtual-hosted addressing.
 *
 * Bodies live under `{dataDir}/s3/{bucket}/{key}` and the index (buckets, types, ETags) in
 * `{dataDir}/s3.json`; without a dataDir everything is in memory. Since keys are file paths on disk, keys
 * with empty, `.` or `..` segments or a trailing `/` are refused (400 InvalidArgument) in both modes.
 */
export interface LocalS3Options {
  readonly dataDir?: string;
  /** Access key id → secret key: the only keys whose signatures are accepted (none: every request is refused). */
  readonly credentials?: LocalCredentials;
  readonly now?: () => number;
}

interface ObjectMeta {
  size: number;
  etag: string;
  contentType: string;
  contentDisposition?: string;
  lastModified: number;
  /** `x-amz-meta-*` headers, by lower-cased name without the prefix. */
  metadata: Record<string, string>;
}

interface Bucket {
  createdAt: number;
  objects: Map<string, ObjectMeta>;
}

interface PersistedState {
  version: 1;
  buckets: Array<{ name: string; createdAt: number; objects: Array<[string, ObjectMeta]> }>;
}

const STATE_FILE = 's3.json';
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Sub-resources of operations this emulation does not implement: answered 501 rather than misread as a plain GET/PUT. */
const UNSUPPORTED_SUBRESOURCES = ['acl', 'tagging', 'uploads', 'uploadId', 'partNumber', 'versionId', 'versioning', 'policy', 'lifecycle', 'cors', 'retention', 'legal-hold', 'attributes', 'restore', 'select', 'torrent', 'location', 'notification', 'website', 'encryption', 'replication', 'logging', 'object-lock', 'ownershipControls', 'publicAccessBlock'];
/** S3's bucket naming rules (without the IP-address and reserved-prefix ones). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export class LocalS3 implements EdgeService {
  readonly name = 's3';
  private readonly buckets = new Map<string, Bucket>();
  /** Bodies when in memory, by `{bucket}/{key}`. */
  private readonly bodies = new Map<string, Buffer>();
  private readonly root: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LocalS3Options = {}) {
    this.root = options.dataDir === undefined ? undefined : resolve(options.dataDir, 's3');
    this.now = options.now ?? Date.now;
    this.load();
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** A request of this S3: its first path segment is a bucket it holds, or it is signed for S3. */
  claims(request: EdgeRequest): boolean {
    const { bucket } = splitPath(rawPath(request));
    return (bucket !== undefined && this.buckets.has(bucket)) || isSignedForS3(request);
  }

  /**
   * Claims a request only if its first path segment is a bucket it holds, or it is signed for S3 (the
   * credential scope names `s3`): DynamoDB, SQS, Scheduler and `@connections` requests never match either.
   */
  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    // The path as sent: the edge's URL parsing resolves `..` segments, which would silently rename a key.
    const { bucket, key } = splitPath(rawPath(request));
    if (!this.claims(request)) return false;
    if (bucket !== undefined && this.buckets.has(bucket) && request.headers.origin) {
      // Any origin: the presigned URL is the authorization, as with the CDK bucket's CORS rule.
      response.setHeader('access-control-allow-origin', '*');
      response.setHeader('access-control-expose-headers', 'ETag, Content-Length, Content-Type, Content-Disposition');
    }
    try {
      if (request.method === 'OPTIONS') return this.preflight(request, response);
      this.authenticate(request);
      const unsupported = UNSUPPORTED_SUBRESOURCES.find((name) => request.query.has(name));
      if (unsupported) throw new S3Error(501, 'NotImplemented', `the local cloud's S3 does not implement the '${unsupported}' sub-resource`);
      if (bucket === undefined) return this.listBuckets(request, response);
      if (key === undefined) await this.bucketOperation(request, response, bucket);
      else await this.objectOperation(request, response, bucket, key);
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      sendError(response, error, request, bucket, key);
    }
    return true;
  }

  // ---- buckets ----

  private async bucketOperation(request: EdgeRequest, response: ServerResponse, name: string): Promise<void> {
    switch (request.method) {
      case 'PUT':
        this.createBucket(name);
        response.writeHead(200, { location: `/${name}`, 'content-length': 0 }).end();
        return;
      case 'HEAD':
        this.bucket(name);
        response.writeHead(200, { 'x-amz-bucket-region': process.env.AWS_REGION ?? 'us-east-1', 'content-length': 0 }).end();
        return;
      case 'DELETE': {
        const bucket = this.bucket(name);
        if (bucket.objects.size > 0) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty');
        this.buckets.delete(name);
        if (this.root) rmSync(join(this.root, name), { recursive: true, force: true });
        this.persist();
        response.writeHead(204).end();
        return;
      }
      case 'GET':
        if (request.query.get('list-type') !== '2') throw new S3Error(501, 'NotImplemented', 'the local cloud lists objects with ListObjectsV2 (list-type=2) only');
        sendXml(response, 200, this.listObjects(name, request.query));
        return;
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${request.method} is not allowed on a bucket`);
    }
  }

  /** Creates a bucket (also for the local cloud's own provisioning); an existing one answers 409 as S3 does outside us-east-1. */
  createBucket(name: string): void {
    if (!BUCKET_NAME.test(name) || name.includes('..')) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    if (this.buckets.has(name)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
    this.buckets.set(name, { createdAt: this.now(), objects: new Map() });
    this.persist();
  }

  private listBuckets(request: EdgeRequest, response: ServerResponse): true {
    if (request.method !== 'GET') throw new S3Error(405, 'MethodNotAllowed', `${request.method} is not allowed here`);
    const buckets = [...this.buckets.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, bucket]) => `<Bucket><Name>${xml(name)}</Name><CreationDate>${new Date(bucket.createdAt).toISOString()}</CreationDate></Bucket>`)
      .join('');
    sendXml(response, 200, `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`);
    return true;
  }

  /** ListObjectsV2: keys in UTF-8 order after `start-after` or the continuation token, grouped by `delimiter`. */
  private listObjects(name: string, query: URLSearchParams): string {
    const bucket = this.bucket(name);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(1000, Math.max(0, Number(query.get('max-keys') ?? 1000) || 0));
    const token = query.get('continuation-token') ?? undefined;
    const startAfter = query.get('start-after') ?? undefined;
    const urlEncoded = query.get('encoding-type') === 'url';
    const after = token !== undefined ? decodeToken(token) : startAfter;
    const keys = [...bucket.objects.keys()].filter((key) => key.startsWith(prefix) && (after === undefined || key > after)).sort(compareUtf8);
    const contents: string[] = [];
    const prefixes: string[] = [];
    let truncated = false;
    let last: string | undefined;
    for (const key of keys) {
      const rolled = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const common = rolled >= 0 ? key.slice(0, rolled + delimiter.length) : undefined;
      if (common !== undefined && prefixes.at(-1) === common) {
        last = key;
        continue;
      }
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      last = key;
      if (common !== undefined) prefixes.push(common);
      else contents.push(key);
    }
    const encode = (value: string) => xml(urlEncoded ? encodeURIComponent(value) : value);
    const parts = [
      `<Name>${xml(name)}</Name>`,
      `<Prefix>${encode(prefix)}</Prefix>`,
      delimiter ? `<Delimiter>${encode(delimiter)}</Delimiter>` : '',
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      `<KeyCount>${contents.length + prefixes.length}</KeyCount>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      urlEncoded ? '<EncodingType>url</EncodingType>' : '',
      token !== undefined ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : '',
      startAfter !== undefined ? `<StartAfter>${encode(startAfter)}</StartAfter>` : '',
      truncated && last !== undefined ? `<NextContinuationToken>${encodeToken(last)}</NextContinuationToken>` : '',
      ...contents.map((key) => {
        const meta = bucket.objects.get(key)!;
        return `<Contents><Key>${encode(key)}</Key><LastModified>${new Date(meta.lastModified).toISOString()}</LastModified><ETag>${xml(meta.etag)}</ETag><Size>${meta.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      }),
      ...prefixes.map((common) => `<CommonPrefixes><Prefix>${encode(common)}</Prefix></CommonPrefixes>`),
    ];
    return `<ListBucketResult xmlns="${XMLNS}">${parts.join('')}</ListBucketResult>`;
  }

  // ---- objects ----

  private async objectOperation(request: EdgeRequest, response: ServerResponse, bucketName: string, key: string): Promise<void> {
    const bucket = this.bucket(bucketName);
    checkKey(key);
    switch (request.method) {
      case 'PUT':
        await this.putObject(request, response, bucketName, bucket, key);
        return;
      case 'GET':
      case 'HEAD':
        await this.getObject(request, response, bucketName, bucket, key);
        return;
      case 'DELETE':
        if (bucket.objects.delete(key)) {
          this.bodies.delete(`${bucketName}/${key}`);
          if (this.root) rmSync(this.objectPath(bucketName, key), { force: true });
          this.persist();
        }
        response.writeHead(204).end();
        return;
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${request.method} is not allowed on an object`);
    }
  }

  private async putObject(request: EdgeRequest, response: ServerResponse, bucketName: string, bucket: Bucket, key: string): Promise<void> {
    if (request.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', "the local cloud's S3 does not implement CopyObject");
    const { body, trailers } = decodePayload(request);
    checkDigests(request, body, trailers);
    const headers = request.headers;
    const meta: ObjectMeta = {
      size: body.length,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      contentType: headerValue(headers['content-type']) ?? 'binary/octet-stream',
      ...(headerValue(headers['content-disposition']) ? { contentDisposition: headerValue(headers['content-disposition']) } : {}),
      lastModified: this.now(),
      metadata: Object.fromEntries(
        Object.entries(headers)
          .filter(([name]) => name.startsWith('x-amz-meta-'))
          .map(([name, value]) => [name.slice('x-amz-meta-'.length), headerValue(value) ?? '']),
      ),
    };
    if (this.root) {
      const path = this.objectPath(bucketName, key);
      try {
        await mkdir(resolve(path, '..'), { recursive: true });
        await writeFile(path, body);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // On disk `a` and `a/b` cannot both exist: one is a file, the other needs it to be a directory.
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') throw new S3Error(400, 'InvalidArgument', `key ${key} clashes with another key's path on the local disk`);
        throw error;
      }
    } else {
      this.bodies.set(`${bucketName}/${key}`, body);
    }
    bucket.objects.set(key, meta);
    this.persist();
    response.writeHead(200, { etag: meta.etag, 'content-length': 0 }).end();
  }

  private async getObject(request: EdgeRequest, response: ServerResponse, bucketName: string, bucket: Bucket, key: string): Promise<void> {
    const meta = bucket.objects.get(key);
    if (!meta) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const headers: Record<string, string | number> = {
      'content-type': request.query.get('response-content-type') ?? meta.contentType,
      etag: meta.etag,
      'last-modified': new Date(meta.lastModified).toUTCString(),
      'accept-ranges': 'bytes',
      ...Object.fromEntries(Object.entries(meta.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    };
    const disposition = request.query.get('response-content-disposition') ?? meta.contentDisposition;
    if (disposition) headers['content-disposition'] = disposition;
    const range = parseRange(headerValue(request.headers.range), meta.size);
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${meta.size}`;
      headers['content-length'] = range.end - range.start + 1;
    } else {
      headers['content-length'] = meta.size;
    }
    if (request.method === 'HEAD') {
      response.writeHead(range ? 206 : 200, headers).end();
      return;
    }
    const body = this.root ? await readFile(this.objectPath(bucketName, key)) : (this.bodies.get(`${bucketName}/${key}`) ?? Buffer.alloc(0));
    response.writeHead(range ? 206 : 200, headers).end(range ? body.subarray(range.start, range.end + 1) : body);
  }

  // ---- authentication ----

  /** Every request but a CORS preflight is signed (header or presigned) with the local credentials; presigned URLs expire. */
  private authenticate(request: EdgeRequest): void {
    try {
      verifySignature(request, this.options.credentials ?? {}, this.now());
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      throw new S3Error(error.status, error.s3Code, error.message, error.extra);
    }
  }

  private preflight(request: EdgeRequest, response: ServerResponse): true {
    const requested = headerValue(request.headers['access-control-request-headers']);
    response.writeHead(200, {
      'access-control-allow-methods': 'GET, PUT, HEAD, DELETE',
      ...(requested ? { 'access-control-allow-headers': requested } : {}),
      'access-control-max-age': '3000',
      'content-length': 0,
    });
    response.end();
    return true;
  }

  // ---- state ----

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  private objectPath(bucket: string, key: string): string {
    const root = join(this.root!, bucket);
    const path = resolve(root, key);
    // checkKey already refuses `..`; this keeps any other surprise inside the bucket's directory.
    if (!path.startsWith(root + sep)) throw new S3Error(400, 'InvalidArgument', `key ${key} is not a path inside the bucket`);
    return path;
  }

  private persist(): void {
    if (this.options.dataDir === undefined) return;
    const state: PersistedState = {
      version: 1,
      buckets: [...this.buckets.entries()].map(([name, bucket]) => ({ name, createdAt: bucket.createdAt, objects: [...bucket.objects.entries()] })),
    };
    mkdirSync(this.options.dataDir, { recursive: true });
    const file = join(this.options.dataDir, STATE_FILE);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state));
    renameSync(temp, file);
  }

  private load(): void {
    if (this.options.dataDir === undefined) return;
    let text: string;
    try {
      text = readFileSync(join(this.options.dataDir, STATE_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const state = JSON.parse(text) as PersistedState;
    if (state.version !== 1) throw new Error(`${STATE_FILE}: unsupported state version ${String(state.version)}`);
    for (const bucket of state.buckets) this.buckets.set(bucket.name, { createdAt: bucket.createdAt, objects: new Map(bucket.objects) });
  }
}

// ---- request helpers ----

function splitPath(path: string): { bucket?: string; key?: string } {
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  if (trimmed === '') return {};
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { bucket: decode(trimmed) };
  const key = trimmed.slice(slash + 1);
  return { bucket: decode(trimmed.slice(0, slash)), ...(key === '' ? {} : { key: decode(key) }) };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function checkKey(key: string): void {
  if (key.length > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
  const segments = key.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new S3Error(400, 'InvalidArgument', `the local cloud stores keys as file paths: '${key}' has an empty, '.' or '..' segment or a trailing '/'`);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The object bytes. SDK clients that compute checksums send `aws-chunked` bodies
 * (`x-amz-content-sha256: STREAMING-…`): `{hex size}[;chunk-signature=…]\r\n{bytes}\r\n`…, ending in a
 * zero-size chunk and optional trailers (e.g. `x-amz-checksum-crc32:…`).
 */
function decodePayload(request: EdgeRequest): { body: Buffer; trailers: Record<string, string> } {
  const mode = headerValue(request.headers['x-amz-content-sha256']) ?? '';
  if (!mode.startsWith('STREAMING-')) return { body: request.body, trailers: {} };
  const raw = request.body;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new S3Error(400, 'IncompleteBody', 'an aws-chunked body ended inside a chunk header');
    const size = Number.parseInt(raw.subarray(offset, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) throw new S3Error(400, 'InvalidArgument', 'a malformed aws-chunked chunk size');
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size > raw.length) throw new S3Error(400, 'IncompleteBody', 'an aws-chunked body ended inside a chunk');
    chunks.push(raw.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = Buffer.concat(chunks);
  const declared = headerValue(request.headers['x-amz-decoded-content-length']);
  if (declared !== undefined && Number(declared) !== body.length) throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
  return { body, trailers };
}

/** Content-MD5 and CRC32 checksums (header, presigned query or trailer) must match the bytes. */
function checkDigests(request: EdgeRequest, body: Buffer, trailers: Record<string, string>): void {
  const md5 = headerValue(request.headers['content-md5']);
  if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const crc = headerValue(request.headers['x-amz-checksum-crc32']) ?? request.query.get('x-amz-checksum-crc32') ?? trailers['x-amz-checksum-crc32'];
  if (crc !== undefined) {
    const computed = Buffer.alloc(4);
    computed.writeUInt32BE(crc32(body));
    if (crc !== computed.toString('base64')) throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
  }
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else serves the whole object, as S3 does. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [start, end] =
    match[1] === '' ? [Math.max(0, size - Number(match[2])), size - 1] : [Number(match[1]), match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)];
  if (start >= size || start > end) throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header!, ActualObjectSize: String(size) });
  return { start, end };
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (key === '') throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
  return key;
}

// ---- responses ----

function xml(value: string): string {
  return value.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function sendXml(response: ServerResponse, status: number, body: string): void {
  const payload = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  response.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(payload), 'x-amz-request-id': requestId() });
  response.end(payload);
}

/** S3's XML error document; a HEAD answer has no body, so the SDK reads the status alone. */
function sendError(response: ServerResponse, error: S3Error, request: EdgeRequest, bucket?: string, key?: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  if (request.method === 'HEAD') {
    response.writeHead(error.status, { 'x-amz-request-id': requestId(), 'content-length': 0 }).end();
    return;
  }
  const resource = bucket === undefined ? '/' : `/${bucket}${key === undefined ? '' : `/${key}`}`;
  const extra = Object.entries(error.extra)
    .map(([name, value]) => `<${name}>${xml(value)}</${name}>`)
    .join('');
  sendXml(response, error.status, `<Error><Code>${error.code}</Code><Message>${xml(error.message)}</Message>${extra}<Resource>${xml(resource)}</Resource><RequestId>${requestId()}</RequestId></Error>`);
}

function requestId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type EdgeRequest, type EdgeService, sendAwsError } from './edge';

/** Access key id → secret access key: the local cloud's own credentials, the only ones it accepts. */
export type LocalCredentials = Readonly<Record<string, string>>;

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGNED_SECONDS = 604_800;
/** A header-signed request's `X-Amz-Date` may be this far from the server's clock: 5 minutes (15 for S3). */
const MAX_SKEW_MS = 5 * 60_000;
const MAX_SKEW_S3_MS = 15 * 60_000;

/** A refused signature, with the error as S3 (XML `Code`) and as the JSON protocols (`__type`) name it. */
export class SignatureError extends Error {
  constructor(
    readonly status: number,
    readonly s3Code: string,
    readonly jsonType: string,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = jsonType;
  }
}

export interface VerifiedRequest {
  readonly accessKeyId: string;
  /** The credential scope's service (`s3`, `sqs`, `scheduler`, `execute-api`, `dynamodb`). */
  readonly service: string;
}

/**
 * Verifies an AWS Signature Version 4 as AWS does: an `Authorization: AWS4-HMAC-SHA256 …` header or a
 * presigned query (`X-Amz-Signature`), made with a key in `credentials`, recomputed here with its secret; a
 * header-signed request within the clock skew, a presigned one before `X-Amz-Date + X-Amz-Expires`. S3's
 * canonical URI is the path as sent; every other service's is normalised and encoded once more, as the SDKs
 * and botocore sign it. Not checked: the chunk signatures of an `aws-chunked` body and session tokens.
 */
export function verifySignature(request: EdgeRequest, credentials: LocalCredentials, now: number = Date.now()): VerifiedRequest {
  const query = rawQuery(request);
  const presignedSignature = query.find(([name]) => name === 'X-Amz-Signature')?.[1];
  const authorization = headerValue(request.headers.authorization);
  let signed: { credential: string; signedHeaders: string; signature: string; amzDate: string };
  let presigned = false;
  if (presignedSignature !== undefined) {
    presigned = true;
    const param = (name: string) => query.find(([key]) => key === name)?.[1] ?? '';
    if (param('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new SignatureError(400, 'AuthorizationQueryParametersError', 'IncompleteSignatureException', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
    }
    signed = { credential: param('X-Amz-Credential'), signedHeaders: param('X-Amz-SignedHeaders'), signature: presignedSignature, amzDate: param('X-Amz-Date') };
  } else if (authorization !== undefined) {
    const fields = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/.exec(authorization.trim());
    if (!fields) throw new SignatureError(400, 'AuthorizationHeaderMalformed', 'IncompleteSignatureException', 'The authorization header is malformed; only AWS4-HMAC-SHA256 is accepted');
    signed = { credential: fields[1]!, signedHeaders: fields[2]!, signature: fields[3]!, amzDate: headerValue(request.headers['x-amz-date']) ?? '' };
  } else {
    throw new SignatureError(403, 'AccessDenied', 'MissingAuthenticationTokenException', 'Request is missing Authentication Token: sign it (SigV4) with the local credentials');
  }

  const [accessKeyId = '', date = '', region = '', service = '', terminator = ''] = signed.credential.split('/');
  const secret = Object.hasOwn(credentials, accessKeyId) ? credentials[accessKeyId] : undefined;
  if (secret === undefined) {
    throw new SignatureError(403, 'InvalidAccessKeyId', 'UnrecognizedClientException', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  const signedAt = parseAmzDate(signed.amzDate);
  if (signedAt === undefined || terminator !== 'aws4_request' || !signed.amzDate.startsWith(date)) {
    throw new SignatureError(400, 'AuthorizationHeaderMalformed', 'IncompleteSignatureException', 'X-Amz-Date and the credential scope {key}/{yyyymmdd}/{region}/{service}/aws4_request must be given and agree');
  }
  const isS3 = service === 's3';
  if (presigned) {
    const expires = Number(query.find(([name]) => name === 'X-Amz-Expires')?.[1]);
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) {
      throw new SignatureError(400, 'AuthorizationQueryParametersError', 'IncompleteSignatureException', 'X-Amz-Date and X-Amz-Expires (1 to 604800 seconds) must be given with a presigned URL');
    }
    const expiresAt = signedAt + expires * 1000;
    if (now > expiresAt) {
      throw new SignatureError(403, 'AccessDenied', 'InvalidSignatureException', 'Request has expired', {
        'X-Amz-Expires': String(expires),
        Expires: new Date(expiresAt).toISOString(),
        ServerTime: new Date(now).toISOString(),
      });
    }
    if (signedAt > now + MAX_SKEW_MS) throw new SignatureError(403, 'AccessDenied', 'InvalidSignatureException', 'Request is not yet valid');
  } else if (Math.abs(now - signedAt) > (isS3 ? MAX_SKEW_S3_MS : MAX_SKEW_MS)) {
    throw new SignatureError(
      403,
      'RequestTimeTooSkewed',
      'InvalidSignatureException',
      `Signature expired: ${signed.amzDate} is not within ${(isS3 ? MAX_SKEW_S3_MS : MAX_SKEW_MS) / 60_000} minutes of the server time ${new Date(now).toISOString()}`,
    );
  }

  const payloadHash = payloadHashOf(request, isS3);
  const canonicalQuery = query
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headerNames = signed.signedHeaders.split(';');
  if (!headerNames.includes('host')) throw new SignatureError(400, 'AuthorizationHeaderMalformed', 'IncompleteSignatureException', 'the host header must be signed');
  const canonicalHeaders = headerNames.map((name) => `${name}:${(headerValue(request.headers[name]) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const path = rawPath(request);
  const canonicalUri = isS3 ? path : canonicalPath(path);
  const canonicalRequest = [request.method, canonicalUri, canonicalQuery, canonicalHeaders, signed.signedHeaders, payloadHash].join('\n');
  const scope = [date, region, service, 'aws4_request'].join('/');
  const stringToSign = ['AWS4-HMAC-SHA256', signed.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(signed.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new SignatureError(
      403,
      'SignatureDoesNotMatch',
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return { accessKeyId, service };
}

/**
 * The emulated services' door (everything on the edge but S3, which verifies its own requests to answer in
 * XML, the browser app's unsigned pages and `/local/token`): a request without a valid SigV4 signature made
 * with the local credentials is answered 403 as the JSON protocols do, and goes no further.
 */
export class SignatureGuard implements EdgeService {
  readonly name = 'sigv4';
  constructor(
    private readonly credentials: LocalCredentials,
    /** True for requests S3 claims (it checks their signatures itself). */
    private readonly isS3Request: (request: EdgeRequest) => boolean,
  ) {}

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    if (this.isS3Request(request)) return false;
    try {
      verifySignature(request, this.credentials);
      return false;
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      sendAwsError(response, error.status, error.jsonType, error.message);
      return true;
    }
  }
}

/** The credential scope names S3: `{key}/{date}/{region}/s3/aws4_request`, in the header or a presigned URL. */
export function isSignedForS3(request: EdgeRequest): boolean {
  const scope = /^[^/]+\/\d{8}\/[^/]+\/s3\/aws4_request$/;
  const credential = request.query.get('X-Amz-Credential');
  if (credential !== null) return scope.test(credential);
  const header = /Credential=([^,\s]+)/.exec(headerValue(request.headers.authorization) ?? '')?.[1];
  return header !== undefined && scope.test(header);
}

/** The hash the signature covers: S3's `x-amz-content-sha256` (checked against the bytes when it is one), else the body's. */
function payloadHashOf(request: EdgeRequest, isS3: boolean): string {
  const bodyHash = () => createHash('sha256').update(request.body).digest('hex');
  const declared = headerValue(request.headers['x-amz-content-sha256']);
  if (declared === undefined) return isS3 ? 'UNSIGNED-PAYLOAD' : bodyHash();
  if (/^[0-9a-f]{64}$/.test(declared) && declared !== bodyHash()) {
    throw new SignatureError(400, 'XAmzContentSHA256Mismatch', 'InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return declared;
}

/** The query as sent, each name and value percent-decoded once (`+` is a plus, not a space, as AWS reads it). */
function rawQuery(request: EdgeRequest): Array<[string, string]> {
  const url = request.raw.url ?? '/';
  const mark = url.indexOf('?');
  if (mark < 0) return [];
  return url
    .slice(mark + 1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const equals = part.indexOf('=');
      return equals < 0 ? [decode(part), ''] : [decode(part.slice(0, equals)), decode(part.slice(equals + 1))];
    });
}

export function rawPath(request: EdgeRequest): string {
  return (request.raw.url ?? '/').split('?')[0] ?? '/';
}

/** The SDKs' canonical path for services other than S3: dot segments removed, then every segment encoded again. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** `20240102T030405Z` → epoch ms. */
function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function hmac(key: string | Buffer, value: string): Buffer {
  return createHmac('sha256', key).update(value).digest();
}

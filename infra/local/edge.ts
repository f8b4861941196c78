import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * One emulated AWS service mounted on the local cloud's single endpoint (SPEC §8), as LocalStack does on its
 * edge port. The edge reads the whole body first, then offers the request to each service in turn.
 */
export interface EdgeService {
  readonly name: string;
  /** Answers the request and returns true when it belongs to this service; returns false to let the next one try. */
  handle(request: EdgeRequest, response: ServerResponse): Promise<boolean>;
}

export interface EdgeRequest {
  readonly method: string;
  /** Path without the query string, percent-decoding left to the service. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly raw: IncomingMessage;
}

/** The header AWS JSON protocols (DynamoDB, SQS) route on, e.g. `AmazonSQS.SendMessage`. */
export function amzTarget(request: EdgeRequest): string | undefined {
  const target = request.headers['x-amz-target'];
  return Array.isArray(target) ? target[0] : target;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
}

/**
 * An AWS error as the JSON and REST-JSON protocols carry it: the SDK v3 reads the type from
 * `x-amzn-ErrorType` or `__type`, and the message from `message`/`Message`.
 */
export function sendAwsError(
  response: ServerResponse,
  status: number,
  type: string,
  message: string,
  contentType = 'application/x-amz-json-1.0',
): void {
  const payload = JSON.stringify({ __type: type, message, Message: message });
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-errortype': type,
    'x-amzn-requestid': cryptoRandomId(),
  });
  response.end(payload);
}

/** AWS SDK requests are signed (header or presigned query) or name their operation in a header. */
export function isAwsRequest(request: Pick<EdgeRequest, 'headers' | 'query'>): boolean {
  return request.headers.authorization !== undefined || request.headers['x-amz-target'] !== undefined || request.query.has('X-Amz-Signature');
}

function cryptoRandomId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The single HTTP endpoint; WebSocket upgrades are attached by the gateway on the same server. Until `ready`,
 * only AWS requests (signed, or naming their operation) are routed: the others (the browser app, the sign-in)
 * wait for it, and are answered 503 if starting failed.
 */
export function createEdgeServer(services: () => readonly EdgeService[], ready: Promise<void> = Promise.resolve()): Server {
  let isReady = false;
  ready.then(
    () => (isReady = true),
    () => undefined,
  );
  const server = createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const url = new URL(raw.url ?? '/', 'http://localhost');
      const request: EdgeRequest = {
        method: raw.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: raw.headers,
        body: Buffer.concat(chunks),
        raw,
      };
      if (isReady || isAwsRequest(request)) {
        void route(services(), request, response);
        return;
      }
      ready.then(
        () => void route(services(), request, response),
        () => sendJson(response, 503, { message: 'the local cloud failed to start' }),
      );
    });
  });
  // Node's default keeps an idle client socket 5 s, the very period of timers in tests and close to SDK call
  // gaps, so pooled sockets were closed just as they were reused (ECONNRESET). AWS endpoints keep them longer.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function route(services: readonly EdgeService[], request: EdgeRequest, response: ServerResponse): Promise<void> {
  try {
    for (const service of services) {
      if (await service.handle(request, response)) return;
    }
    sendJson(response, 404, { message: `no local service answers ${request.method} ${request.path}` });
  } catch (error) {
    if (!response.headersSent) {
      sendAwsError(response, 500, 'InternalFailure', error instanceof Error ? error.message : String(error));
    } else {
      response.end();
    }
  }
}

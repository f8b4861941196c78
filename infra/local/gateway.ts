import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES, MAX_SERVER_FRAME_BYTES } from '../../shared/protocol/limits';
import { type EdgeRequest, type EdgeService, sendAwsError, sendJson } from './edge';
import { type LambdaInvoker, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambdas';

export interface GatewayOptions {
  readonly invoker: LambdaInvoker;
  /** Route key → function name (see infra/functions.ts). */
  readonly routes: ReadonlyMap<string, string>;
  /** The REQUEST authorizer on `$connect`; none means every upgrade is accepted. */
  readonly authorizer?: string;
  /** API Gateway drops a connection idle this long (10 minutes) ... */
  readonly idleTimeoutSeconds: number;
  /** ... and any connection after this long (2 hours). */
  readonly maxConnectionSeconds: number;
  /** A connection whose unsent bytes pass this is dropped, as API Gateway drops a slow consumer (default 8 MiB). */
  readonly maxSendBufferBytes?: number;
  readonly stage?: string;
}

/** 64 server frames of the largest size waiting on a client that does not read. */
export const DEFAULT_MAX_SEND_BUFFER_BYTES = 8 * 1024 * 1024;

interface LiveConnection {
  readonly socket: WebSocket;
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly authorizer: Record<string, unknown> | undefined;
  lastActiveAt: number;
  /** Set by dropWithoutDisconnect: the socket closes but `$disconnect` never runs. */
  withoutDisconnect?: boolean;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

const API_ID = 'local';

/**
 * API Gateway's WebSocket API on the local cloud: the upgrade runs the authorizer and `$connect`; each
 * frame is routed on `$request.body.action` (else `$default`) to the same handler the deployed API uses,
 * whose result body is the route response; and the `@connections` management API (POST, GET, DELETE)
 * answers on the same port, with 410 GoneException for an unknown connection.
 */
export class LocalWebSocketGateway implements EdgeService {
  readonly name = 'apigateway-management';
  /** API Gateway's client frame limit: 32,768 bytes of payload are accepted, one more is close 1009. */
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly live = new Map<string, LiveConnection>();
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * Server frames refused for being over 128 KB (a route response or a `postToConnection`): on AWS they would fail, so
   * a test checks this is empty (test/support/cloud.ts fails a cloud's stop on any).
   */
  readonly oversizedFrames: { readonly path: 'route response' | 'postToConnection'; readonly bytes: number; readonly connectionId: string; readonly head: string }[] = [];

  /** Set by `outage`: the API is down, upgrades are refused. */
  private down = false;

  constructor(private readonly options: GatewayOptions) {}

  /**
   * Test hook: the WebSocket API goes down (a restart, a deployment) and comes back. Down, every connection is
   * closed (1001, each gets `$disconnect`) and new upgrades are refused 503; back up, it accepts them again.
   */
  async outage(down: boolean): Promise<void> {
    this.down = down;
    if (!down) return;
    await this.closeAll();
  }

  /**
   * Takes the server's WebSocket upgrades. Those that arrive before `ready` (the local cloud still provisioning)
   * wait for it rather than being refused; if starting fails they are closed.
   */
  attach(server: Server, ready: Promise<void> = Promise.resolve()): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      ready.then(
        () => void this.upgrade(request, socket, head),
        () => socket.destroy(),
      );
    });
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /**
   * Test hook: the connection dies without `$disconnect`, which API Gateway delivers best-effort only (a
   * client that vanishes can leave no trace but the record). From now on the management API answers
   * GoneException for it, as AWS does. False if there is no such connection.
   */
  dropWithoutDisconnect(connectionId: string): boolean {
    const connection = this.live.get(connectionId);
    if (!connection) return false;
    connection.withoutDisconnect = true;
    this.live.delete(connectionId);
    connection.socket.terminate();
    return true;
  }

  /** Closes every connection (each gets `$disconnect`) and waits for in-flight invocations. */
  async close(): Promise<void> {
    await this.closeAll();
    this.sockets.close();
  }

  /** Closes every live connection (1001; each gets `$disconnect`) and waits for the invocations that follow. */
  private async closeAll(): Promise<void> {
    for (const connection of this.live.values()) connection.socket.close(1001, 'Going away');
    await this.drain();
  }

  /** Waits until every invocation started so far has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    const match = /^(?:\/[^/]+)?\/@connections\/([^/]+)$/.exec(request.path);
    if (!match) return false;
    const connectionId = decodeURIComponent(match[1]!);
    const connection = this.live.get(connectionId);
    if (!connection || connection.socket.readyState !== WebSocket.OPEN) {
      sendAwsError(response, 410, 'GoneException', `connection ${connectionId} is gone`, 'application/json');
      return true;
    }
    switch (request.method) {
      case 'POST':
        if (request.body.length > MAX_SERVER_FRAME_BYTES) {
          this.recordOversized('postToConnection', connectionId, request.body.length, request.body.subarray(0, 120).toString('utf8'));
          sendAwsError(response, 413, 'PayloadTooLargeException', 'payload over 128 KB', 'application/json');
          return true;
        }
        if (!this.deliver(connection, request.body.toString('utf8'))) {
          sendAwsError(response, 410, 'GoneException', `connection ${connectionId} is gone`, 'application/json');
          return true;
        }
        response.writeHead(200).end();
        return true;
      case 'GET':
        sendJson(response, 200, {
          connectedAt: new Date(connection.connectedAt).toISOString(),
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        });
        return true;
      case 'DELETE':
        connection.socket.close(1000, 'Disconnected by the server');
        response.writeHead(204).end();
        return true;
      default:
        sendAwsError(response, 405, 'MethodNotAllowed', `${request.method} is not supported on @connections`, 'application/json');
        return true;
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work)).catch(() => undefined);
    return work;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams.entries());
    const headers = flattenHeaders(request.headers);
    const connectionId = randomBytes(12).toString('base64');
    const connectedAt = Date.now();
    if (this.down) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const requestContext = this.requestContext('$connect', 'CONNECT', connectionId, connectedAt, undefined);
    let authorizer: Record<string, unknown> | undefined;
    try {
      if (this.options.authorizer) {
        authorizer = await this.authorize(query, headers);
        if (!authorizer) return refuseUpgrade(socket, 403, 'Forbidden');
      }
      const connectFunction = this.options.routes.get('$connect');
      if (connectFunction) {
        const result = (await this.track(
          this.options.invoker.invoke(connectFunction, {
            requestContext: { ...requestContext, authorizer },
            headers,
            queryStringParameters: query,
            isBase64Encoded: false,
          }),
        )) as { statusCode?: number } | undefined;
        const status = result?.statusCode ?? 200;
        if (status < 200 || status > 299) return refuseUpgrade(socket, status, 'Connection refused');
      }
    } catch (error) {
      const unauthorized = (error as Error).message === 'Unauthorized';
      return refuseUpgrade(socket, unauthorized ? 401 : 500, unauthorized ? 'Unauthorized' : 'Internal server error');
    }
    this.sockets.handleUpgrade(request, socket, head, (ws) => {
      const connection: LiveConnection = {
        socket: ws,
        connectionId,
        connectedAt,
        lastActiveAt: connectedAt,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
        authorizer,
      };
      this.live.set(connectionId, connection);
      this.touch(connection);
      connection.lifetimeTimer = setTimeout(() => ws.close(1001, 'Going away'), this.options.maxConnectionSeconds * 1000);
      ws.on('message', (data, isBinary) => {
        this.touch(connection);
        void this.track(this.onMessage(connection, isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString()));
      });
      ws.on('close', (code, reason) => void this.track(this.onClose(connection, code, reason.toString())));
      ws.on('error', () => ws.terminate());
      // Went down while this one's $connect ran: it goes like the others (closed, with its $disconnect).
      if (this.down) ws.close(1001, 'Going away');
    });
  }

  private async authorize(query: Record<string, string>, headers: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const result = (await this.track(
      this.options.invoker.invoke(this.options.authorizer!, {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${API_ID}/${this.stage}/$connect`,
        headers,
        queryStringParameters: query,
        requestContext: { routeKey: '$connect', eventType: 'CONNECT' },
      }),
    )) as { principalId?: string; policyDocument?: { Statement?: { Effect?: string }[] }; context?: Record<string, unknown> };
    const allowed = result.policyDocument?.Statement?.some((statement) => statement.Effect === 'Allow') ?? false;
    return allowed ? { ...result.context, principalId: result.principalId } : undefined;
  }

  private get stage(): string {
    return this.options.stage ?? 'local';
  }

  private requestContext(routeKey: string, eventType: string, connectionId: string, connectedAt: number, authorizer: unknown) {
    return {
      routeKey,
      eventType,
      connectionId,
      connectedAt,
      requestId: randomUUID(),
      messageId: eventType === 'MESSAGE' ? randomBytes(8).toString('base64') : undefined,
      requestTimeEpoch: Date.now(),
      domainName: 'localhost',
      stage: this.stage,
      apiId: API_ID,
      authorizer,
    };
  }

  /** API Gateway's idle timeout counts client frames only. */
  private touch(connection: LiveConnection): void {
    connection.lastActiveAt = Date.now();
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => connection.socket.close(1001, 'Going away'), this.options.idleTimeoutSeconds * 1000);
  }

  private async onMessage(connection: LiveConnection, body: string): Promise<void> {
    const routeKey = this.selectRoute(body);
    const functionName = this.options.routes.get(routeKey);
    const requestContext = this.requestContext(routeKey, 'MESSAGE', connection.connectionId, connection.connectedAt, connection.authorizer);
    if (!functionName) {
      // API Gateway's answer when no route (not even $default) matches.
      return this.sendIfOpen(connection, JSON.stringify({ message: 'Forbidden', connectionId: connection.connectionId, requestId: requestContext.requestId }));
    }
    try {
      const result = (await this.options.invoker.invoke(functionName, { requestContext, body, isBase64Encoded: false })) as
        | { body?: unknown }
        | undefined;
      if (result && typeof result.body === 'string') {
        const bytes = Buffer.byteLength(result.body, 'utf8');
        if (bytes <= MAX_SERVER_FRAME_BYTES) return this.sendIfOpen(connection, result.body);
        // API Gateway cannot deliver a route response over its 128 KB message limit: the client gets an error
        // instead of its answer. Loud here, so the path that made it is fixed before it runs on AWS.
        this.recordOversized('route response', connection.connectionId, bytes, result.body.slice(0, 120));
        this.sendIfOpen(connection, JSON.stringify({ message: 'Internal server error', connectionId: connection.connectionId, requestId: requestContext.requestId }));
      }
    } catch {
      this.sendIfOpen(
        connection,
        JSON.stringify({ message: 'Internal server error', connectionId: connection.connectionId, requestId: requestContext.requestId }),
      );
    }
  }

  private recordOversized(path: 'route response' | 'postToConnection', connectionId: string, bytes: number, head: string): void {
    this.oversizedFrames.push({ path, bytes, connectionId, head });
    console.error(`local gateway: a ${path} of ${bytes} bytes is over API Gateway's ${MAX_SERVER_FRAME_BYTES}-byte message limit (it starts ${JSON.stringify(head)})`);
  }

  /** Route selection on `$request.body.action`, as the deployed API is configured. */
  private selectRoute(body: string): string {
    try {
      const value: unknown = JSON.parse(body);
      if (typeof value === 'object' && value !== null && 'action' in value) {
        const action = (value as { action: unknown }).action;
        // `$connect` and `$disconnect` are connection events, never selected by a message (API Gateway sends those to `$default`).
        if (typeof action === 'string' && !action.startsWith('$') && this.options.routes.has(action)) return action;
      }
    } catch {
      // not JSON: $default
    }
    return '$default';
  }

  private sendIfOpen(connection: LiveConnection, text: string): void {
    if (connection.socket.readyState === WebSocket.OPEN) this.deliver(connection, text);
  }

  /**
   * Sends a frame, then drops the connection if its unsent bytes (ws's queue and the socket's) passed the cap:
   * a client that stops reading must not grow the server's memory without bound. False when dropped.
   */
  private deliver(connection: LiveConnection, text: string): boolean {
    const cap = this.options.maxSendBufferBytes ?? DEFAULT_MAX_SEND_BUFFER_BYTES;
    if (connection.socket.bufferedAmount <= cap) connection.socket.send(text);
    if (connection.socket.bufferedAmount <= cap) return true;
    // terminate, not close: a close frame would wait behind the very bytes the client does not read.
    connection.socket.terminate();
    return false;
  }

  private async onClose(connection: LiveConnection, code: number, reason: string): Promise<void> {
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    if (connection.lifetimeTimer) clearTimeout(connection.lifetimeTimer);
    this.live.delete(connection.connectionId);
    const functionName = this.options.routes.get('$disconnect');
    if (!functionName || connection.withoutDisconnect) return;
    const requestContext = {
      ...this.requestContext('$disconnect', 'DISCONNECT', connection.connectionId, connection.connectedAt, connection.authorizer),
      disconnectStatusCode: code,
      disconnectReason: reason,
    };
    try {
      await this.options.invoker.invoke(functionName, { requestContext, isBase64Encoded: false });
    } catch {
      // $disconnect is best-effort on API Gateway too.
    }
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return flat;
}

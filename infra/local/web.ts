import type { ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { z } from 'zod';
import { isLoopback } from './loopback';
import { deviceKinds, identityKinds, sipUri } from '../../shared/auth/identity';
import { issueToken } from '../../shared/auth/tokens';
import { JOIN_LINK_PATH } from '../../shared/protocol/join-link';
import { type EdgeRequest, type EdgeService, isAwsRequest, sendJson } from './edge';

/** Where `npm run build:web` (Vite) puts the browser app. */
export const WEB_DIST_DIR = resolve(__dirname, '..', '..', 'web', 'dist');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>UC web app not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The web app is not built</h1>
<p>Run <code>npm run build:web</code> (<code>npm start</code> does it for you), then reload this page.</p>
</body></html>
`;

/** `POST /local/token`: the development sign-in's request (docs/operations.md, "Web app"). */
const tokenRequestSchema = z.object({
  uri: sipUri,
  kind: z.enum(identityKinds),
  name: z.string().max(256).optional(),
  device: z.enum(deviceKinds).default('web'),
});

export interface LocalWebAppOptions {
  /** The token secret of this local cloud (the authorizer's). */
  readonly jwtSecret: string;
  /** The WebSocket API's URL when the request names no usable Host. */
  readonly wsUrl: string;
  /** Default: web/dist. */
  readonly distDir?: string;
  /** The issuer and client id the app signs in with, served in `/config.json` (the deployment's shape). */
  readonly oidc?: { readonly issuer: string; readonly clientId: string };
}

/**
 * The browser app on the local cloud's endpoint, and its development sign-in. Claims only anonymous GET and
 * HEAD requests of `/`, `/index.html`, `/assets/*` and other files of web/dist (AWS requests are signed: an
 * Authorization header or an `X-Amz-Signature` query), and `POST /local/token`; everything else goes on to
 * the emulated AWS services.
 */
export class LocalWebApp implements EdgeService {
  readonly name = 'web';
  private readonly root: string;

  constructor(private readonly options: LocalWebAppOptions) {
    this.root = resolve(options.distDir ?? WEB_DIST_DIR);
  }

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    if (request.path === '/local/token' && !isAwsRequest(request)) {
      await this.token(request, response);
      return true;
    }
    if ((request.method !== 'GET' && request.method !== 'HEAD') || isAwsRequest(request)) return false;
    if (request.path === '/config.json' && this.options.oidc) {
      // What the app reads at start, as the CDK deployment writes it (infra/stacks/stateless-stack.ts).
      const { issuer, clientId } = this.options.oidc;
      const config = Buffer.from(JSON.stringify({ webSocketUrl: this.wsUrlFor(request), issuer, clientId, scope: 'openid email profile' }));
      send(response, request, 200, { 'content-type': CONTENT_TYPES['.json']!, 'cache-control': 'no-cache' }, config);
      return true;
    }
    // A meeting's join link (`{WEB_APP_URL}/join/{confId}`, SPEC §9) is the app's page too, as CloudFront's error
    // fallback serves it on AWS; the app reads the path.
    const isJoinLink = JOIN_LINK_PATH.test(request.path);
    const isPage = request.path === '/' || request.path === '/index.html' || isJoinLink;
    const isAsset = request.path.startsWith('/assets/');
    const file = this.fileOf(request.path === '/' || isJoinLink ? '/index.html' : request.path);
    if (file === undefined) {
      // An escape from web/dist under a path of ours is refused; elsewhere the path is not ours to answer.
      if (!isPage && !isAsset) return false;
      sendText(response, request, 404, 'not found');
      return true;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      if (isPage) {
        send(response, request, 200, { 'content-type': CONTENT_TYPES['.html']!, 'cache-control': 'no-cache' }, Buffer.from(NOT_BUILT_PAGE));
        return true;
      }
      if (!isAsset) return false;
      sendText(response, request, 404, 'not found');
      return true;
    }
    const body = await readFile(file);
    send(
      response,
      request,
      200,
      {
        'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        // Vite names assets by their content hash: they never change; the page itself is always checked.
        'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
      },
      body,
    );
    return true;
  }

  /** The file under web/dist a URL path names, or undefined when it would leave web/dist. */
  private fileOf(path: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((segment) => segment === '..')) return undefined;
    const file = resolve(this.root, `.${decoded}`);
    return file.startsWith(this.root + sep) ? file : undefined;
  }

  private async token(request: EdgeRequest, response: ServerResponse): Promise<void> {
    // It mints any identity, admin included: for this machine only, even when the cloud listens beyond loopback
    // (`--expose`), and for a loopback Host only, so a page of another site cannot reach it by DNS rebinding.
    if (!isLoopback(request.raw.socket.remoteAddress) || !isLoopback(hostName(request.headers.host))) {
      sendError(response, 403, 'Forbidden', 'the development sign-in answers on loopback only (http://localhost:PORT)');
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      sendError(response, 405, 'MethodNotAllowed', 'POST a JSON body {uri, kind, name?, device?}');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      sendError(response, 400, 'BadRequest', 'the body must be JSON: {uri, kind, name?, device?}');
      return;
    }
    const parsed = tokenRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || undefined;
      sendError(response, 400, 'BadRequest', field ? `field '${field}': ${issue?.message}` : (issue?.message ?? 'invalid request'), field);
      return;
    }
    const { uri, kind, name, device } = parsed.data;
    const token = await issueToken({ uri: uri.toLowerCase(), kind, name: name?.trim() || uri.slice(4, uri.indexOf('@')), device }, this.options.jwtSecret);
    sendJson(response, 200, { token, wsUrl: this.wsUrlFor(request) });
  }

  /** The WebSocket API as the browser reached this endpoint (localhost or 127.0.0.1), so the page stays same-site. */
  private wsUrlFor(request: EdgeRequest): string {
    const host = request.headers.host;
    return host && /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? `ws://${host}` : this.options.wsUrl;
  }
}

/** The host name of a Host header (`localhost:3001` → `localhost`, `[::1]:3001` → `::1`). */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  return /^[^:]+(?::\d+)?$/.test(host) ? host.split(':')[0] : undefined;
}

function send(response: ServerResponse, request: EdgeRequest, status: number, headers: Record<string, string>, body: Buffer): void {
  response.writeHead(status, { ...headers, 'content-length': body.length, 'x-content-type-options': 'nosniff' });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function sendText(response: ServerResponse, request: EdgeRequest, status: number, text: string): void {
  send(response, request, status, { 'content-type': CONTENT_TYPES['.txt']! }, Buffer.from(text));
}

/** An error in the WebSocket envelope's shape (docs/protocol.md). */
function sendError(response: ServerResponse, status: number, code: string, message: string, field?: string): void {
  sendJson(response, status, { error: { code, message, ...(field ? { field } : {}) } });
}

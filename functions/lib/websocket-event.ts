import * as z from 'zod/mini';
import { type Identity, identitySchema } from '../../shared/auth/identity';
import { UnauthorizedError } from '../../shared/errors';

/** The parts of API Gateway's WebSocket event the handlers read (the local gateway builds the same shape). */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly routeKey: string;
    readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    readonly connectionId: string;
    readonly requestId: string;
    readonly connectedAt?: number;
    readonly domainName?: string;
    readonly stage?: string;
    /** The REQUEST authorizer's context, passed by API Gateway to every route of the connection. */
    readonly authorizer?: Record<string, unknown>;
  };
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
  readonly headers?: Record<string, string | undefined>;
}

/** What a WebSocket route integration returns; with a route response, API Gateway sends `body` to the client. */
export interface RouteResult {
  readonly statusCode: number;
  readonly body?: string;
}

const authorizerContext = z.object({ uri: z.string(), kind: z.string(), name: z.string(), device: z.string() });

/** The caller, from the authorizer context that API Gateway attaches to every event of the connection. */
export function identityOf(event: WebSocketEvent): Identity {
  const context = authorizerContext.safeParse(event.requestContext.authorizer);
  const identity = context.success ? identitySchema.safeParse(context.data) : undefined;
  if (!identity?.success) throw new UnauthorizedError('no authenticated identity on this connection');
  return identity.data;
}

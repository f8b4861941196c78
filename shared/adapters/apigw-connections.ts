import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { awsCause } from './aws-errors';
import { type ManagementApiBounds, managementApiClients } from './aws-clients/management-api';
import { SerializedFrame } from '../connections/frame';
import type { Connections, ConnectionStatus } from '../ports';

export type { ManagementApiBounds };

/** The first retry of a refused post waits about this long (jittered), doubling after. */
const POST_RETRY_BASE_DELAY_MS = 50;

/**
 * True when the post surely (or all but surely) never reached the socket: the gateway answered with a refusal
 * (throttled, 5xx), the request never found a connection, or the socket was reset under it. A reset is almost
 * always a pooled keep-alive socket the server had just closed, before the request arrived (seen in the fault
 * tests: "read ECONNRESET" with nothing received); a post lost that way would be lost for good.
 */
export function surelyNotDelivered(failure: unknown): boolean {
  // The SDK's own error, behind the domain's 503 it was translated into (./aws-errors.ts).
  const error = awsCause(failure);
  if (typeof error !== 'object' || error === null) return false;
  const { $metadata, code, message } = error as { $metadata?: { httpStatusCode?: number }; code?: unknown; message?: unknown };
  const status = $metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  // The SDK may wrap a foreign-realm error into a plain one and keep only its text (seen under jest).
  // "did not establish a connection" is @smithy/node-http-handler's connect timeout: nothing was written.
  return typeof message === 'string' && /ECONNREFUSED|ECONNRESET|EPIPE|did not establish a connection/.test(message);
}

/**
 * The `@connections` management API. The endpoint is the API's stage URL on AWS and the local cloud's
 * single endpoint locally: the same client, configured by endpoint alone.
 */
export class ApiGatewayConnections implements Connections {
  /** GetConnection and DeleteConnection: idempotent, so the SDK retries them (timeouts included). */
  private readonly client: ApiGatewayManagementApiClient;
  /** PostToConnection: one attempt per send; `post` retries only what was surely not delivered. */
  private readonly postClient: ApiGatewayManagementApiClient;
  private readonly postAttempts: number;

  constructor(endpoint: string | undefined, bounds: ManagementApiBounds) {
    // The clients, built with the app's bounds and AWS errors translated (./aws-clients/management-api.ts).
    ({ client: this.client, postClient: this.postClient } = managementApiClients(endpoint, bounds));
    this.postAttempts = bounds.MANAGEMENT_API_MAX_ATTEMPTS;
  }

  /**
   * A post that timed out may have reached the socket already (a slow gateway, not a dead one): sending it
   * again would deliver it twice, so only a post the gateway refused (429, 5xx), one that never got a connection
   * or one whose socket was reset (see surelyNotDelivered) is sent again. Clients fill any gap from history by seq.
   */
  async post(connectionId: string, payload: unknown): Promise<'delivered' | 'gone'> {
    // A fan-out passes the frame serialised once (shared/connections/frame.ts).
    const data = payload instanceof SerializedFrame ? payload.bytes : new TextEncoder().encode(JSON.stringify(payload));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.postClient.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
        return 'delivered';
      } catch (error) {
        if (error instanceof GoneException) return 'gone';
        if (attempt >= this.postAttempts || !surelyNotDelivered(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, POST_RETRY_BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random())));
      }
    }
  }

  async status(connectionId: string): Promise<ConnectionStatus | undefined> {
    try {
      const answer = await this.client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      return {
        connectedAt: answer.ConnectedAt?.getTime() ?? 0,
        lastActiveAt: answer.LastActiveAt?.getTime() ?? 0,
      };
    } catch (error) {
      if (error instanceof GoneException) return undefined;
      throw error;
    }
  }

  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!(error instanceof GoneException)) throw error;
    }
  }
}

import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { Connections, ConnectionStatus } from '../ports';

/**
 * The `@connections` management API. The endpoint is the API's stage URL on AWS and the local cloud's
 * single endpoint locally: the same client, configured by endpoint alone.
 */
export class ApiGatewayConnections implements Connections {
  private readonly client: ApiGatewayManagementApiClient;

  constructor(endpoint: string | undefined) {
    // Fan-out posts in parallel: more sockets than the SDK's default 50, kept alive between invocations.
    const agent = { keepAlive: true, maxSockets: 256 };
    // The management API has no default endpoint; AWS_ENDPOINT_URL serves when no stage URL is given.
    this.client = new ApiGatewayManagementApiClient({
      ...(endpoint ? { endpoint } : {}),
      requestHandler: { httpAgent: agent, httpsAgent: agent },
    });
  }

  async post(connectionId: string, payload: unknown): Promise<'delivered' | 'gone'> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(JSON.stringify(payload)) }),
      );
      return 'delivered';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      throw error;
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

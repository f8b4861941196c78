import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Config } from '../../config';
import { translateAwsErrors } from '../aws-errors';
import { KEEP_ALIVE_AGENT, requestHandler } from './options';

/** The timeouts and attempts of one management API call (shared/config.ts). */
export type ManagementApiBounds = Pick<Config, 'MANAGEMENT_API_MAX_ATTEMPTS' | 'MANAGEMENT_API_REQUEST_TIMEOUT_MS' | 'SDK_CONNECT_TIMEOUT_MS'>;

export interface ManagementApiClients {
  /** GetConnection and DeleteConnection: idempotent, so the SDK retries them (timeouts included). */
  readonly client: ApiGatewayManagementApiClient;
  /** PostToConnection: one attempt per send; the adapter retries only what was surely not delivered. */
  readonly postClient: ApiGatewayManagementApiClient;
}

/**
 * The `@connections` management API's clients for one endpoint (the API's stage URL on AWS, the local cloud's
 * endpoint locally; AWS_ENDPOINT_URL serves when none is given), built once by the composition root. One hung
 * post must not hold a whole fan-out: it times out (MANAGEMENT_API_REQUEST_TIMEOUT_MS) and counts as failed.
 */
export function managementApiClients(endpoint: string | undefined, bounds: ManagementApiBounds): ManagementApiClients {
  const options = { ...(endpoint ? { endpoint } : {}), requestHandler: requestHandler(bounds, bounds.MANAGEMENT_API_REQUEST_TIMEOUT_MS, KEEP_ALIVE_AGENT) };
  const clients = {
    client: new ApiGatewayManagementApiClient({ ...options, maxAttempts: bounds.MANAGEMENT_API_MAX_ATTEMPTS }),
    postClient: new ApiGatewayManagementApiClient({ ...options, maxAttempts: 1 }),
  };
  translateAwsErrors(clients.client, 'management-api');
  translateAwsErrors(clients.postClient, 'management-api');
  return clients;
}

import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { MAX_SERVER_FRAME_BYTES } from '../../shared/protocol/limits';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { loadConfig } from '../../shared/config';

/**
 * Issue 17 item 9: a client that stops reading must not grow the server's memory without bound. The local
 * gateway drops a connection whose unsent bytes pass its cap (here 1 MiB), as API Gateway drops slow consumers;
 * a client that reads is never dropped.
 */
const CAP_BYTES = 1024 * 1024;
/** Far beyond the cap plus what the kernel's socket buffers can hold on loopback (a few MB each way). */
const MAX_POSTS = 400;

let cloud: TestCloud;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  cloud = await startTestCloud({ maxSendBufferBytes: CAP_BYTES });
  management = new ApiGatewayManagementApiClient({ endpoint: cloud.cloud.url });
});
afterAll(async () => {
  management.destroy();
  await cloud.stop();
});

async function connectionIdOf(uri: string): Promise<string> {
  const store = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
  const records = await waitFor(`a connection of ${uri}`, async () => {
    const found = await store.listByUser(uri);
    return found.length > 0 ? found : undefined;
  });
  return records[0]!.connectionId;
}

/** Posts frames of the largest size until the gateway answers GoneException; the number posted, or undefined if never. */
async function postUntilGone(connectionId: string, posts: number): Promise<number | undefined> {
  const frame = new TextEncoder().encode(JSON.stringify({ type: 'event', event: 'bulk', pad: 'x'.repeat(MAX_SERVER_FRAME_BYTES - 64) }));
  for (let sent = 0; sent < posts; sent++) {
    try {
      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: frame }));
    } catch (error) {
      if (error instanceof GoneException) return sent;
      throw error;
    }
  }
  return undefined;
}

test('a connection that stops reading is dropped once its send buffer passes the cap', async () => {
  const slow = await cloud.connect('sip:slow@contoso.com');
  const connectionId = await connectionIdOf('sip:slow@contoso.com');
  slow.socket.pause();

  const postedBeforeGone = await postUntilGone(connectionId, MAX_POSTS);

  expect(postedBeforeGone).toBeDefined();
  expect(postedBeforeGone! * MAX_SERVER_FRAME_BYTES).toBeGreaterThan(CAP_BYTES);
  await waitFor('the gateway to forget the connection', () => (cloud.cloud.gateway.connectionCount === 0 ? true : undefined));
  slow.socket.resume();
  await slow.waitClosed();
});

test('a connection that reads is not dropped by the same traffic', async () => {
  const reader = await cloud.connect('sip:reader@contoso.com');
  const connectionId = await connectionIdOf('sip:reader@contoso.com');

  expect(await postUntilGone(connectionId, 32)).toBeUndefined();
  await waitFor('every frame to arrive', () => (reader.eventsNamed('bulk').length === 32 ? true : undefined));
  expect(reader.isOpen).toBe(true);
});

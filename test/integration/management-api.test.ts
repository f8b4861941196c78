import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { Delivery } from '../../shared/connections/delivery';
import { CONNECTING_GRACE_MS } from '../../shared/ports';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { loadConfig } from '../../shared/config';

let cloud: TestCloud;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  management = new ApiGatewayManagementApiClient({ endpoint: cloud.cloud.url });
});
afterAll(async () => {
  await cloud.stop();
});

/** The connection id the gateway gave a client, read back from the store by user. */
async function connectionIdOf(uri: string): Promise<string> {
  const store = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
  const records = await waitFor(`a connection of ${uri}`, async () => {
    const found = await store.listByUser(uri);
    return found.length > 0 ? found : undefined;
  });
  return records[0]!.connectionId;
}

describe('the @connections management API, driven by the real SDK client', () => {
  test('postToConnection delivers the data to the socket', async () => {
    const client = await cloud.connect('sip:post@contoso.com');
    const connectionId = await connectionIdOf('sip:post@contoso.com');
    await management.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(JSON.stringify({ type: 'event', event: 'hello' })) }),
    );
    await client.nextEvent('hello');
  });

  test('postToConnection to an unknown id throws GoneException', async () => {
    await expect(management.send(new PostToConnectionCommand({ ConnectionId: 'bm8gc3VjaA==', Data: new Uint8Array([1]) }))).rejects.toBeInstanceOf(
      GoneException,
    );
  });

  test('GetConnection answers ConnectedAt, LastActiveAt and the identity', async () => {
    const before = Date.now();
    const client = await cloud.connect('sip:get@contoso.com');
    const connectionId = await connectionIdOf('sip:get@contoso.com');
    await client.request('ping');
    const answer = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(answer.ConnectedAt).toBeInstanceOf(Date);
    expect(answer.ConnectedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(answer.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(answer.ConnectedAt!.getTime());
    expect(answer.Identity?.SourceIp).toBeTruthy();
  });

  test('DeleteConnection closes the socket and $disconnect removes the record', async () => {
    const client = await cloud.connect('sip:delete@contoso.com');
    const connectionId = await connectionIdOf('sip:delete@contoso.com');
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await client.waitClosed();
    const store = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
    await waitFor('the record to be removed', async () => ((await store.get(connectionId)) === undefined ? true : undefined));
    await expect(management.send(new GetConnectionCommand({ ConnectionId: connectionId }))).rejects.toBeInstanceOf(GoneException);
  });
});

describe('the connections adapter and delivery', () => {
  test('a stale connection (GoneException on post) is removed from the store; one still in its $connect (410 too) is kept', async () => {
    const store = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
    const live = await cloud.connect('sip:stale@contoso.com');
    const liveId = await connectionIdOf('sip:stale@contoso.com');
    // A record whose socket vanished without $disconnect, as API Gateway can leave behind.
    await store.put({
      connectionId: 'c3RhbGUtY29ubmVjdGlvbg==',
      uri: 'sip:stale@contoso.com',
      kind: 'enterprise',
      name: 'stale',
      device: 'mobile',
      connectedAt: Date.now() - CONNECTING_GRACE_MS - 1_000,
      expiresAt: Date.now() + 60_000,
    });
    // One whose $connect has recorded it but not returned yet: the gateway answers 410 for it too, and it stays.
    await store.put({
      connectionId: 'Y29ubmVjdGluZw==',
      uri: 'sip:stale@contoso.com',
      kind: 'enterprise',
      name: 'stale',
      device: 'desktop',
      connectedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    const delivery = new Delivery(new ApiGatewayConnections(cloud.cloud.url, loadConfig()), store, 4);
    const report = await delivery.toUsers(['sip:stale@contoso.com'], { event: 'chat.removed', payload: { roomId: 'fanout-room', reason: 'deleted' } });
    expect(report).toEqual({ delivered: 1, removed: 1, failed: 0 });
    await live.nextEvent('chat.removed');
    expect((await store.listByUser('sip:stale@contoso.com')).map((record) => record.connectionId).sort()).toEqual([liveId, 'Y29ubmVjdGluZw=='].sort());
  });

  test('status() answers for a live connection and undefined for a gone one', async () => {
    await cloud.connect('sip:status@contoso.com');
    const connections = new ApiGatewayConnections(cloud.cloud.url, loadConfig());
    const status = await connections.status(await connectionIdOf('sip:status@contoso.com'));
    expect(status?.connectedAt).toBeGreaterThan(0);
    expect(await connections.status('Z29uZQ==')).toBeUndefined();
  });
});

describe('one endpoint for every AWS service (SPEC §8)', () => {
  test('DynamoDB requests are passed through to DynamoDB Local', async () => {
    const dynamo = new DynamoDBClient({ endpoint: cloud.cloud.url });
    const { TableNames } = await dynamo.send(new ListTablesCommand({}));
    expect(TableNames).toContain(cloud.cloud.config.TABLE_NAME);
  });
});

import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { build } from 'esbuild';
import { makeCommandHandler } from '../../../../functions/lib/command-handler';
import type { WebSocketEvent } from '../../../../functions/lib/websocket-event';
import { ApiGatewayConnections, surelyNotDelivered } from '../../../../shared/adapters/apigw-connections';
import { isConditionFailure, translateAwsError } from '../../../../shared/adapters/aws-errors';
import { dynamoDocumentClient } from '../../../../shared/adapters/aws-clients/dynamodb';
import { managementApiClients } from '../../../../shared/adapters/aws-clients/management-api';
import { s3Client } from '../../../../shared/adapters/aws-clients/s3';
import { schedulerClient } from '../../../../shared/adapters/aws-clients/scheduler';
import { sqsClient } from '../../../../shared/adapters/aws-clients/sqs';
import { UnprocessedBatchError } from '../../../../shared/adapters/dynamodb-operations';
import { DependencyThrottledError, DependencyUnavailableError, UnavailableError } from '../../../../shared/errors';

/**
 * Issue 18 item 3: AWS errors are translated at the client (shared/adapters/aws-errors.ts), so a dependency's
 * throttling or failure reaches the domain and the command handler as the domain's own 503.
 */
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.RATE_LIMIT_PER_CONNECTION = '1000000';
process.env.RATE_LIMIT_PER_USER = '1000000';

const bounds = { DYNAMODB_MAX_ATTEMPTS: 1, DYNAMODB_REQUEST_TIMEOUT_MS: 1000, SDK_CONNECT_TIMEOUT_MS: 1000, SCHEDULER_REQUEST_TIMEOUT_MS: 1000, SQS_REQUEST_TIMEOUT_MS: 1000 };

/** An SDK service error as the SDK's deserializer throws it. */
function serviceError(name: string, status: number, fault: 'client' | 'server'): Error {
  return Object.assign(new Error(`${name} from the service`), { name, $fault: fault, $metadata: { httpStatusCode: status, attempts: 1 } });
}

/** The service's answer, stubbed where the SDK's deserializer would throw it (inside the SDK's retries). */
function answerWith<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(client: C, error: Error): () => void {
  const stack = client.middlewareStack as unknown as { add: (mw: unknown, options: unknown) => void; remove: (name: string) => boolean };
  stack.add(
    () => async () => {
      throw error;
    },
    { step: 'deserialize', name: 'stubAnswer', override: true },
  );
  return () => stack.remove('stubAnswer');
}

describe('the SDK clients translate AWS errors into the domain’s', () => {
  const table = dynamoDocumentClient(bounds);

  test('DynamoDB throttling after the retries becomes DependencyThrottledError (a 503), the original as its cause', async () => {
    const original = serviceError('ProvisionedThroughputExceededException', 400, 'client');
    const restore = answerWith(table, original);
    const failure = await table.send(new GetCommand({ TableName: 't', Key: { PK: 'a', SK: 'b' } })).catch((error: unknown) => error);
    restore();
    expect(failure).toBeInstanceOf(DependencyThrottledError);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(failure).toMatchObject({ status: 503, code: 'Unavailable', retryAfterMs: 500, dependency: 'dynamodb' });
    expect((failure as Error).cause).toBe(original);
  });

  test.each([
    ['a 5xx', serviceError('InternalServerError', 500, 'server')],
    ['a timeout', Object.assign(new Error('request timed out'), { name: 'TimeoutError' })],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])('%s becomes DependencyUnavailableError, not throttling', async (_what, original) => {
    const restore = answerWith(table, original);
    const failure = await table.send(new GetCommand({ TableName: 't', Key: { PK: 'a', SK: 'b' } })).catch((error: unknown) => error);
    restore();
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).not.toBeInstanceOf(DependencyThrottledError);
    expect((failure as Error).cause).toBe(original);
  });

  test('a failed condition passes through unchanged: the adapters decide on it', async () => {
    const original = serviceError('ConditionalCheckFailedException', 400, 'client');
    const restore = answerWith(table, original);
    const failure = await table.send(new PutCommand({ TableName: 't', Item: { PK: 'a', SK: 'b' } })).catch((error: unknown) => error);
    restore();
    expect(failure).toBe(original);
    expect(isConditionFailure(failure)).toBe(true);
  });

  test('the management API: a throttled post is the domain’s error, and still counts as surely not delivered', async () => {
    const { postClient } = managementApiClients('http://127.0.0.1:9', { MANAGEMENT_API_MAX_ATTEMPTS: 1, MANAGEMENT_API_REQUEST_TIMEOUT_MS: 1000, SDK_CONNECT_TIMEOUT_MS: 1000 });
    const original = serviceError('LimitExceededException', 429, 'client');
    answerWith(postClient, original);
    const failure = await postClient.send(new PostToConnectionCommand({ ConnectionId: 'c', Data: new Uint8Array() })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DependencyThrottledError);
    expect(surelyNotDelivered(failure)).toBe(true);
    expect(new ApiGatewayConnections('http://127.0.0.1:9', { MANAGEMENT_API_MAX_ATTEMPTS: 1, MANAGEMENT_API_REQUEST_TIMEOUT_MS: 1000, SDK_CONNECT_TIMEOUT_MS: 1000 })).toBeDefined();
  });

  test('every client the app builds carries the translation', () => {
    const management = managementApiClients(undefined, { MANAGEMENT_API_MAX_ATTEMPTS: 2, MANAGEMENT_API_REQUEST_TIMEOUT_MS: 1000, SDK_CONNECT_TIMEOUT_MS: 1000 });
    for (const client of [table, schedulerClient(bounds), sqsClient(bounds), s3Client(), management.client, management.postClient]) {
      expect(client.middlewareStack.identify().some((entry) => entry.startsWith('translateAwsErrors'))).toBe(true);
    }
  });

  test('a batch left unprocessed is DynamoDB throttling too', () => {
    expect(new UnprocessedBatchError('BatchGetItem', 3, 6)).toBeInstanceOf(DependencyThrottledError);
    expect(translateAwsError(new UnprocessedBatchError('BatchWriteItem', 1, 6), 'dynamodb')).toBeInstanceOf(UnprocessedBatchError);
  });
});

describe('the command handler answers a dependency’s failure without knowing AWS', () => {
  const event = (body: string): WebSocketEvent => ({
    requestContext: { routeKey: 'ping', eventType: 'MESSAGE', connectionId: 'conn-1', requestId: 'req-1', connectedAt: 1, authorizer: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' } },
    body,
    isBase64Encoded: false,
  });

  test('a throttled dependency is a 503 with retryAfterMs; the client retries with its client id', async () => {
    const handler = makeCommandHandler({
      ping: async () => {
        throw new DependencyThrottledError('dynamodb', { cause: new Error('ThrottlingException') });
      },
    });
    const answer = JSON.parse((await handler(event(JSON.stringify({ action: 'ping', rid: 'r1', args: {} })))).body ?? '{}');
    expect(answer).toMatchObject({ rid: 'r1', status: 503, error: { code: 'Unavailable', retryAfterMs: 500, message: 'the service is busy; retry with the same client id' } });
  });

  test('functions/lib/command-handler.ts bundles no AWS SDK module', async () => {
    const result = await build({ entryPoints: [join(__dirname, '../../../../functions/lib/command-handler.ts')], bundle: true, write: false, platform: 'node', format: 'cjs', metafile: true, logLevel: 'silent' });
    const sdk = Object.keys(result.metafile.inputs).filter((input) => /@aws-sdk\/|shared\/adapters\/aws-/.test(input));
    expect(sdk).toEqual([]);
  }, 30_000);
});

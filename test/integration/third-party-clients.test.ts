import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_RESOURCE_NAMES } from '../../infra/functions';
import { startTestCloud, type TestCloud } from '../support/cloud';

/**
 * Issue 20 item 3: every AWS client reaches the local endpoint, not only the SDK this project uses. boto3 (a
 * python script, third-party-clients.py) drives DynamoDB, SQS in both its protocols (JSON; the query protocol
 * of older SDKs and Debian's AWS CLI v2, signed by botocore), a one-time Scheduler schedule into SQS that
 * deletes itself, and S3 presigned URLs; the AWS CLI (v1 on this image, with --endpoint-url; Debian's v2 with
 * AWS_ENDPOINT_URL when it is installed) lists and uses queues. All signed with the local credentials.
 */

const run = promisify(execFile);
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

/** The CLI's environment: the local credentials only, no profile of the machine's user. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
    ...extra,
  };
}

test('boto3 uses DynamoDB, SQS (JSON and query protocols, with a redrive), a self-deleting one-time schedule and S3 presigned URLs', async () => {
  const { stdout } = await run('python3', [join(__dirname, 'third-party-clients.py')], {
    env: cliEnv({
      ENDPOINT: cloud.cloud.url,
      TABLE_NAME: cloud.cloud.config.TABLE_NAME,
      FILES_BUCKET: LOCAL_RESOURCE_NAMES.filesBucket,
      ROLE_ARN: LOCAL_RESOURCE_NAMES.schedulerRoleArn,
    }),
    timeout: 45_000,
  });
  const seen = JSON.parse(stdout) as Record<string, unknown>;
  expect(seen.dynamodbGet).toBe('one');
  expect(seen.dynamodbQuery).toEqual(['one', 'two']);
  expect(seen.sqsReceived).toEqual({ body: 'hello', kind: 'greeting' });
  expect(seen.sqsRedrive).toEqual({ mainAfter: 0, dlqBody: 'hello', source: expect.stringMatching(/:tp-main-[0-9a-f]{8}$/) });
  expect(seen.sqsDeleted).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  expect(seen.sqsMissingQueue).toBe('AWS.SimpleQueueService.NonExistentQueue');
  expect(seen.sqsQuery).toEqual({
    contentType: 'text/xml',
    queueUrl: expect.stringMatching(new RegExp(`^${cloud.cloud.url}/\\d{12}/tp-query-[0-9a-f]{8}$`)),
    listed: [expect.stringMatching(/tp-query-/)],
    // MD5 of "form & <xml>": the body went through form encoding and XML escaping unchanged.
    md5: '4bc53b3e0675597afe015065861334e1',
    body: 'form & <xml>',
    receiveCount: '1',
    messageAttribute: 'query',
    deleted: '{http://queue.amazonaws.com/doc/2012-11-05/}DeleteMessageResponse',
    visibilityTimeout: '5',
    error: { status: 400, contentType: 'text/xml', code: 'AWS.SimpleQueueService.NonExistentQueue' },
  });
  expect(seen.scheduler).toEqual({ fired: [{ fired: expect.stringMatching(/^tp-once-/) }], deletedAfterCompletion: true });
  expect(seen.s3).toEqual({ putStatus: 200, got: 'presigned bytes' });
});

// This image's AWS CLI is v1 (JSON protocol for SQS), which ignores AWS_ENDPOINT_URL: --endpoint-url.
test('the AWS CLI v1 lists queues, sends and receives, and reads the table through --endpoint-url', async () => {
  const aws = (...args: string[]) => run('aws', [...args, '--output', 'json', '--endpoint-url', cloud.cloud.url], { env: cliEnv() });
  const listed = JSON.parse((await aws('sqs', 'list-queues')).stdout) as { QueueUrls: string[] };
  expect(listed.QueueUrls).toContain(`${cloud.cloud.url}/000000000000/${LOCAL_RESOURCE_NAMES.complianceQueue}`);
  const { QueueUrl } = JSON.parse((await aws('sqs', 'create-queue', '--queue-name', 'cli-v1')).stdout) as { QueueUrl: string };
  await aws('sqs', 'send-message', '--queue-url', QueueUrl, '--message-body', 'from the cli');
  const received = JSON.parse((await aws('sqs', 'receive-message', '--queue-url', QueueUrl, '--wait-time-seconds', '1')).stdout) as { Messages: Array<{ Body: string }> };
  expect(received.Messages.map((m) => m.Body)).toEqual(['from the cli']);
  const tables = JSON.parse((await aws('dynamodb', 'describe-table', '--table-name', cloud.cloud.config.TABLE_NAME)).stdout) as { Table: { TableStatus: string } };
  expect(tables.Table.TableStatus).toBe('ACTIVE');
});

// Debian's `awscli` (2.9) speaks SQS's query protocol; used when installed, never installed here. 2.9 predates
// AWS_ENDPOINT_URL (CLI 2.13), so it too takes --endpoint-url.
const debianCli = '/usr/bin/aws';
if (!existsSync(debianCli)) console.warn(`third-party-clients.test.ts: ${debianCli} (Debian's awscli 2.9, query protocol) is not installed: its test is not run`);
const debianCliTest = existsSync(debianCli) ? test : () => undefined;
debianCliTest(`Debian's AWS CLI v2 (${debianCli}, query protocol) lists, sends and receives`, async () => {
  const aws = async (...args: string[]) => {
    const { stdout } = await run(debianCli, [...args, '--output', 'json', '--endpoint-url', cloud.cloud.url], { env: cliEnv({ AWS_PAGER: '' }) });
    return (stdout.trim() === '' ? {} : JSON.parse(stdout)) as Record<string, unknown>;
  };
  const version = (await run(debianCli, ['--version'], { env: cliEnv() })).stdout;
  // Any other CLI at that path must speak to the endpoint too; the query protocol is checked with Debian's.
  expect(version).toMatch(/^aws-cli\//);
  expect(((await aws('sqs', 'list-queues')).QueueUrls as string[]).some((url) => url.endsWith(`/${LOCAL_RESOURCE_NAMES.complianceQueue}`))).toBe(true);
  const { QueueUrl } = (await aws('sqs', 'create-queue', '--queue-name', 'cli-v2', '--attributes', 'VisibilityTimeout=7')) as { QueueUrl: string };
  await aws('sqs', 'send-message', '--queue-url', QueueUrl, '--message-body', 'from cli v2', '--message-attributes', 'kind={DataType=String,StringValue=v2}');
  const received = (await aws('sqs', 'receive-message', '--queue-url', QueueUrl, '--message-attribute-names', 'All', '--attribute-names', 'All')) as {
    Messages: Array<{ Body: string; ReceiptHandle: string; MessageAttributes: Record<string, { StringValue: string }>; Attributes: Record<string, string> }>;
  };
  expect(received.Messages[0]).toMatchObject({ Body: 'from cli v2', MessageAttributes: { kind: { StringValue: 'v2' } }, Attributes: { ApproximateReceiveCount: '1' } });
  await aws('sqs', 'delete-message', '--queue-url', QueueUrl, '--receipt-handle', received.Messages[0]!.ReceiptHandle);
  const attributes = (await aws('sqs', 'get-queue-attributes', '--queue-url', QueueUrl, '--attribute-names', 'All')) as { Attributes: Record<string, string> };
  expect(attributes.Attributes).toMatchObject({ VisibilityTimeout: '7', ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  await expect(aws('sqs', 'get-queue-url', '--queue-name', 'no-such-queue')).rejects.toMatchObject({ stderr: expect.stringContaining('NonExistentQueue') });
});

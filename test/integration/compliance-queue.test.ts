import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { COMPLIANCE_SHARDS } from '../../shared/adapters/compliance-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { SqsQueue } from '../../shared/adapters/sqs-queue';
import type { ComplianceEvent } from '../../shared/compliance/event';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { loadConfig } from '../../shared/config';

/** The compliance queue end to end: SQS adapter → local SQS → event-source poller → consumer → store. */
let cloud: TestCloud;
let sqs: SQSClient;

beforeAll(async () => {
  cloud = await startTestCloud({ complianceVisibilitySeconds: 1 });
  sqs = new SQSClient({ endpoint: cloud.cloud.url });
});
afterAll(async () => {
  await cloud.stop();
});

function event(n: number): ComplianceEvent {
  return {
    eventId: `chat.post:room-1:msg-${n}`,
    type: 'chat.post',
    actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
    target: { kind: 'room', id: 'room-1' },
    at: 1_700_000_000_000 + n,
    content: `message ${n}`,
  };
}

async function pendingEventIds(): Promise<string[]> {
  const ids: string[] = [];
  for (let shard = 0; shard < COMPLIANCE_SHARDS; shard++) {
    const page = await dynamoDocumentClient(loadConfig()).send(
      new QueryCommand({
        TableName: cloud.cloud.config.TABLE_NAME,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `CPEND#${shard}` },
        ConsistentRead: true,
      }),
    );
    for (const item of page.Items ?? []) ids.push((item.event as ComplianceEvent).eventId);
  }
  return ids.sort();
}

test('events sent in batches are stored once each, and a duplicate delivery is stored once', async () => {
  const queue = new SqsQueue(sqs, cloud.cloud.config.COMPLIANCE_QUEUE_URL!);
  const events = Array.from({ length: 12 }, (_, n) => event(n));
  await queue.sendBatch(events);
  await queue.send(events[3]);
  await queue.send(events[3]);
  const expected = events.map((e) => e.eventId).sort();
  await waitFor('12 stored events', async () => ((await pendingEventIds()).length >= 12 ? true : undefined));
  // Let the duplicates be consumed too: the queue drains, and nothing more is stored.
  await waitFor('the queue to drain', async () => {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: cloud.cloud.config.COMPLIANCE_QUEUE_URL!, VisibilityTimeout: 0 }));
    return (Messages ?? []).length === 0 ? true : undefined;
  });
  expect(await pendingEventIds()).toEqual(expected);
});

test('a message that is not an event fails alone and ends in the dead-letter queue; its batch-mates are stored', async () => {
  const queueUrl = cloud.cloud.config.COMPLIANCE_QUEUE_URL!;
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ not: 'an event' }) }));
  await new SqsQueue(sqs, queueUrl).send(event(100));
  await waitFor('the good event to be stored', async () => ((await pendingEventIds()).includes(event(100).eventId) ? true : undefined));
  const dlqUrl = queueUrl.replace(/uc-compliance$/, 'uc-compliance-dlq');
  const poisoned = await waitFor(
    'the poison message in the DLQ',
    async () => {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
      return Messages?.[0];
    },
    // Five receives a second apart, then the move; generous, as the whole suite shares two cores.
    30_000,
  );
  expect(JSON.parse(poisoned.Body!)).toEqual({ not: 'an event' });
  expect((await pendingEventIds()).filter((id) => id === event(100).eventId)).toHaveLength(1);
});

test('text SQS refuses (U+FFFE, U+FFFF, lone surrogates) is refused raw by the local SQS as by SQS, and carried by the adapter: stored exactly', async () => {
  const queueUrl = cloud.cloud.config.COMPLIANCE_QUEUE_URL!;
  const content = 'U+FFFE \uFFFE, U+FFFF \uFFFF, lone \uD800 and \uDC00, a pair 😀, a tab \t, a control \u0001';
  // Raw, as JSON.stringify writes it: SQS answers InvalidMessageContents (the emulator is as strict).
  for (const raw of ['\uFFFE', '\uFFFF', '\uD800', '\uDFFF', '\u0001', '\u0000']) {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `x${raw}x` }))).rejects.toMatchObject({ name: 'InvalidMessageContents' });
  }
  // What SQS accepts: tab, newline, CR, the BMP outside the surrogates and non-characters, and every pair.
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ probe: '\t\n\r \uD7FF\uE000\uFFFD😀' }) }));

  const queue = new SqsQueue(sqs, queueUrl);
  const single = { ...event(0), eventId: 'chat.post:room-1:refused-single', content };
  const batched = { ...event(1), eventId: 'chat.post:room-1:refused-batched', content, target: { kind: 'room' as const, id: 'room-1', name: '\uFFFF\uDBFF' } };
  await queue.send(single);
  await queue.sendBatch([batched]);
  const stored = await waitFor('the two events stored', async () => {
    const found: ComplianceEvent[] = [];
    for (let shard = 0; shard < COMPLIANCE_SHARDS; shard++) {
      const page = await dynamoDocumentClient(loadConfig()).send(
        new QueryCommand({ TableName: cloud.cloud.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `CPEND#${shard}` }, ConsistentRead: true }),
      );
      found.push(...(page.Items ?? []).map((item) => item.event as ComplianceEvent).filter((stored) => stored.eventId === single.eventId || stored.eventId === batched.eventId));
    }
    return found.length === 2 ? found : undefined;
  });
  expect(stored.map((stored) => stored.content)).toEqual([content, content]);
  expect(stored.find((stored) => stored.eventId === batched.eventId)?.target.name).toBe('\uFFFF\uDBFF');
});

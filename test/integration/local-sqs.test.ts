import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createEdgeServer } from '../../infra/local/edge';
import type { LambdaInvoker } from '../../infra/local/lambdas';
import { LocalSqs } from '../../infra/local/sqs';
import { SqsQueues } from '../../infra/local/sqs-queues';
import { waitFor } from '../support/wait';

/** Contract tests of the local SQS, driven by the real AWS SDK v3 client over the JSON protocol. */

interface Endpoint {
  server: Server;
  url: string;
}

async function listen(sqs: LocalSqs): Promise<Endpoint> {
  const server = createEdgeServer(() => [sqs]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function clientFor(url: string): SQSClient {
  return new SQSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

let endpoint: Endpoint;
let sqs: LocalSqs;
let client: SQSClient;
let queueCounter = 0;

beforeAll(async () => {
  let url = '';
  sqs = new LocalSqs({ endpointUrl: () => url, log: () => undefined });
  endpoint = await listen(sqs);
  url = endpoint.url;
  client = clientFor(url);
});

afterAll(async () => {
  await sqs.stop();
  client.destroy();
  await close(endpoint.server);
});

async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
  queueCounter += 1;
  const out = await client.send(new CreateQueueCommand({ QueueName: `q${queueCounter}-${Date.now()}`, Attributes: attributes }));
  return out.QueueUrl ?? '';
}

async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function receive(queueUrl: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...extra,
    }),
  );
  return out.Messages ?? [];
}

describe('local SQS over the JSON protocol', () => {
  it('round-trips a message with attributes, with the SDK validating MD5 of body and attributes', async () => {
    const queueUrl = await newQueue();
    expect(queueUrl.startsWith(`${endpoint.url}/000000000000/q`)).toBe(true);

    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"hello":"wörld"}',
        MessageAttributes: {
          SellerName: { DataType: 'String', StringValue: 'Example Store' },
        },
      }),
    );
    // Published vectors of AWS's attribute checksum (SQS developer guide; LocalStack's unit test).
    expect(sent.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
    const numeric = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'second',
        MessageAttributes: {
          timestamp: { DataType: 'Number', StringValue: '1493147359900' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
        },
      }),
    );
    expect(numeric.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);

    const messages = await receive(queueUrl);
    expect(messages.map((m) => m.Body)).toEqual(['{"hello":"wörld"}', 'second']);
    const [first, second] = messages;
    expect(first?.MessageId).toBe(sent.MessageId);
    expect(first?.MessageAttributes).toEqual({ SellerName: { DataType: 'String', StringValue: 'Example Store' } });
    expect(first?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(first?.Attributes?.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(first?.Attributes?.ApproximateFirstReceiveTimestamp).toBeDefined();
    expect(second?.MessageAttributes?.['blob']?.BinaryValue).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(second?.MD5OfMessageAttributes).toBe(numeric.MD5OfMessageAttributes);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 2 });

    for (const m of messages) await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('filters message attributes by name and prefix on receive', async () => {
    const queueUrl = await newQueue();
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'x',
        MessageAttributes: {
          'app.kind': { DataType: 'String', StringValue: 'a' },
          'app.id': { DataType: 'Number', StringValue: '7' },
          other: { DataType: 'String', StringValue: 'o' },
        },
      }),
    );
    const [message] = await receive(queueUrl, { MessageAttributeNames: ['app.*'], MessageSystemAttributeNames: [] });
    expect(Object.keys(message?.MessageAttributes ?? {}).sort()).toEqual(['app.id', 'app.kind']);
    expect(message?.Attributes).toBeUndefined();
  });

  it('sends a batch and reports each entry', async () => {
    const queueUrl = await newQueue();
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
          { Id: 'c', MessageBody: 'three', DelaySeconds: 900 },
        ],
      }),
    );
    expect(out.Successful?.map((e) => e.Id).sort()).toEqual(['a', 'b', 'c']);
    expect(out.Failed ?? []).toEqual([]);
    const messages = await receive(queueUrl);
    // The delayed entry is not yet receivable.
    expect(messages.map((m) => m.Body).sort()).toEqual(['one', 'two']);
    const attributes = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    expect(attributes.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
  });

  it('long polling returns as soon as a message arrives', async () => {
    const queueUrl = await newQueue();
    const started = Date.now();
    const polling = receive(queueUrl, { WaitTimeSeconds: 20 });
    // The scenario itself: a message that arrives while the poll is open.
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'late' })), 300);
    const messages = await polling;
    expect(messages.map((m) => m.Body)).toEqual(['late']);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a received message that is not deleted reappears after its visibility timeout, with a new receipt handle', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '1' });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));
    // Received no earlier than this, so hidden until this + 1 s at the earliest: bounds from observed times, so a
    // stalled machine (which may let the second pass) cannot fail the test.
    const receivedFrom = Date.now();
    const [first] = await receive(queueUrl);
    expect(first?.Body).toBe('again');
    const again = await receive(queueUrl);
    if (Date.now() < receivedFrom + 1000) expect(again).toEqual([]);

    const [second] = again.length > 0 ? again : await receive(queueUrl, { WaitTimeSeconds: 5 });
    expect(Date.now()).toBeGreaterThanOrEqual(receivedFrom + 1000);
    expect(second?.MessageId).toBe(first?.MessageId);
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(first?.Attributes?.ApproximateFirstReceiveTimestamp);

    // The outdated handle succeeds without deleting, as AWS documents; the latest one deletes.
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle }));
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 1 });
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second?.ReceiptHandle }));
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('rejects a receipt handle it never issued', async () => {
    const queueUrl = await newQueue();
    await expect(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'bogus' }))).rejects.toBeInstanceOf(
      ReceiptHandleIsInvalid,
    );
  });

  it('moves a message to the dead-letter queue instead of receiving it past maxReceiveCount', async () => {
    const dlqUrl = await newQueue();
    const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes
      ?.QueueArn;
    expect(dlqArn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:q\d+-\d+$/);
    const sourceUrl = await newQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) });
    const sent = await client.send(new SendMessageCommand({ QueueUrl: sourceUrl, MessageBody: 'poison' }));

    // VisibilityTimeout 0 makes each received message visible again at once.
    expect((await receive(sourceUrl, { VisibilityTimeout: 0 }))[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await receive(sourceUrl, { VisibilityTimeout: 0 }))[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(await receive(sourceUrl, { VisibilityTimeout: 0 })).toEqual([]);

    const [dead] = await receive(dlqUrl);
    expect(dead?.MessageId).toBe(sent.MessageId);
    expect(dead?.Body).toBe('poison');
    expect(dead?.Attributes?.DeadLetterQueueSourceArn).toMatch(/:q\d+-\d+$/);
    const redrive = await client.send(new GetQueueAttributesCommand({ QueueUrl: sourceUrl, AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(redrive.Attributes?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 });
  });

  it('ChangeMessageVisibility makes an in-flight message visible again', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '60' });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'v' }));
    const [first] = await receive(queueUrl);
    expect(await receive(queueUrl)).toEqual([]);
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 0 }));
    const [second] = await receive(queueUrl);
    expect(second?.MessageId).toBe(first?.MessageId);
    // The first handle is outdated now.
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 10 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('PurgeQueue removes every message', async () => {
    const queueUrl = await newQueue();
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `body ${i}` })),
      }),
    );
    await receive(queueUrl, { MaxNumberOfMessages: 1 });
    expect(await counts(queueUrl)).toEqual({ visible: 2, inFlight: 1 });
    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(await receive(queueUrl)).toEqual([]);
  });

  it('GetQueueUrl of an unknown queue throws QueueDoesNotExist', async () => {
    const error: unknown = await client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({ name: 'QueueDoesNotExist', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  });

  it('answers an operation it does not emulate with a 400 naming it', async () => {
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSQS.Frobnicate', 'content-type': 'application/x-amz-json-1.0' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('Frobnicate') });
  });

  it('GetQueueUrl of a known queue returns its URL, and CreateQueue is idempotent', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '5' });
    const name = queueUrl.split('/').pop();
    expect((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(queueUrl);
    expect((await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '5' } }))).QueueUrl).toBe(queueUrl);
    await expect(
      client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '6' } })),
    ).rejects.toMatchObject({ name: 'QueueNameExists' });
  });
});

describe('the SQS event source poller', () => {
  /** A fake Lambda: records each event and answers with the next scripted behaviour. */
  function scriptedInvoker(script: Array<(event: SQSEvent) => unknown>): { invoker: LambdaInvoker; events: SQSEvent[] } {
    const events: SQSEvent[] = [];
    const invoker: LambdaInvoker = {
      invoke: async (_name, event) => {
        const sqsEvent = event as SQSEvent;
        events.push(sqsEvent);
        const step = script[events.length - 1] ?? (() => undefined);
        return step(sqsEvent);
      },
    };
    return { invoker, events };
  }

  async function queueWithThree(): Promise<{ queueUrl: string; queueName: string }> {
    const queueUrl = await newQueue({ VisibilityTimeout: '1' });
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['a', 'b', 'c'].map((body) => ({
          Id: body,
          MessageBody: body,
          MessageAttributes: { kind: { DataType: 'String', StringValue: `kind-${body}` } },
        })),
      }),
    );
    return { queueUrl, queueName: queueUrl.split('/').pop() ?? '' };
  }

  const bodies = (event: SQSEvent | undefined) => (event?.Records ?? []).map((r) => r.body).sort();

  /** Waits for at least `count` invocations; a timeout says how many there were, and with which bodies. */
  async function waitForInvocations(events: SQSEvent[], count: number, timeoutMs: number): Promise<void> {
    const what = count === 1 ? 'one invocation' : `${count} invocations`;
    try {
      await waitFor(what, () => events.length >= count, timeoutMs);
    } catch (error) {
      const seen = events.map((e) => `[${bodies(e).join(',')}]`).join(' ');
      throw new Error(`${error instanceof Error ? error.message : String(error)}; saw ${events.length}: ${seen || 'none'}`);
    }
  }

  it('delivers an SQS-shaped event and, with ReportBatchItemFailures, redelivers only the failed messages', async () => {
    const { queueUrl, queueName } = await queueWithThree();
    const { invoker, events } = scriptedInvoker([
      (event) => ({ batchItemFailures: event.Records.filter((r) => r.body === 'b').map((r) => ({ itemIdentifier: r.messageId })) }),
      () => ({ batchItemFailures: [] }),
    ]);
    sqs.addEventSourceMapping({ queueName, functionName: 'worker', batchSize: 10, reportBatchItemFailures: true }, invoker);

    // Generous: the redelivery waits out the visibility timeout, later when another test file shares the cores.
    await waitForInvocations(events, 2, 15_000);
    expect(bodies(events[0])).toEqual(['a', 'b', 'c']);
    expect(bodies(events[1])).toEqual(['b']);
    const record = events[1]?.Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn(queueName),
      awsRegion: 'us-east-1',
      messageAttributes: { kind: { stringValue: 'kind-b', dataType: 'String' } },
      attributes: { ApproximateReceiveCount: '2', SenderId: '000000000000' },
    });
    expect(record?.md5OfBody).toBe('92eb5ffee6ae2fec3ad71c777531578f');
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(record?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
    await waitFor('nothing in flight', async () => (await counts(queueUrl)).inFlight === 0, 5000);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('an itemIdentifier that is not in the batch fails the whole batch', async () => {
    const { queueUrl, queueName } = await queueWithThree();
    const { invoker, events } = scriptedInvoker([() => ({ batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }] })]);
    sqs.addEventSourceMapping({ queueName, functionName: 'worker', reportBatchItemFailures: true }, invoker);

    // Generous: the redelivery waits out the visibility timeout, later when another test file shares the cores.
    await waitForInvocations(events, 2, 15_000);
    expect(bodies(events[1])).toEqual(['a', 'b', 'c']);
    expect(events[1]?.Records.every((r) => r.attributes.ApproximateReceiveCount === '2')).toBe(true);
    await waitFor('nothing in flight', async () => (await counts(queueUrl)).inFlight === 0, 5000);
  });

  it('an empty batchItemFailures list is a success: the batch is deleted', async () => {
    const { queueUrl, queueName } = await queueWithThree();
    const { invoker, events } = scriptedInvoker([() => ({ batchItemFailures: [] })]);
    sqs.addEventSourceMapping({ queueName, functionName: 'worker', reportBatchItemFailures: true }, invoker);

    await waitForInvocations(events, 1, 5000);
    expect(bodies(events[0])).toEqual(['a', 'b', 'c']);
    await waitFor('nothing in flight', async () => (await counts(queueUrl)).inFlight === 0, 5000);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(events).toHaveLength(1);
  });

  it('maximumConcurrency: that many batches are invoked at once, as Lambda scales its SQS poller out (issue 21)', async () => {
    const { queueUrl, queueName } = await queueWithThree();
    let inFlight = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const invoker: LambdaInvoker = {
      invoke: async () => {
        peak = Math.max(peak, ++inFlight);
        await gate;
        inFlight--;
        return undefined;
      },
    };
    sqs.addEventSourceMapping({ queueName, functionName: 'worker', batchSize: 1, maximumConcurrency: 3 }, invoker);

    await waitFor('three batches in flight at once', () => peak === 3, 5000);
    release();
    await waitFor('all deleted', async () => {
      const now = await counts(queueUrl);
      return now.visible === 0 && now.inFlight === 0;
    }, 5000);
  });

  it('an invocation that outlasts the visibility timeout deletes with its own receipt handle, not the redelivery\'s', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '1' });
    const queueName = queueUrl.split('/').pop() ?? '';
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'slow' }));
    const events: SQSEvent[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let failSecond!: (error: Error) => void;
    const secondHeld = new Promise<void>((_resolve, reject) => (failSecond = reject));
    const invoker: LambdaInvoker = {
      invoke: async (_name, event) => {
        events.push(event as SQSEvent);
        // The first succeeds late, after the message's redelivery; the second (the redelivery) fails; the third succeeds.
        if (events.length === 1) await firstHeld;
        else if (events.length === 2) await secondHeld;
        return undefined;
      },
    };
    sqs.addEventSourceMapping({ queueName, functionName: 'worker', batchSize: 1, maximumConcurrency: 2 }, invoker);

    try {
      await waitForInvocations(events, 2, 15_000);
      expect(events[1]?.Records[0]?.receiptHandle).not.toBe(events[0]?.Records[0]?.receiptHandle);
      releaseFirst();
      // The poller handles the first invocation's success in the microtasks after the release, before this request
      // is answered: its outdated receipt handle deleted nothing, the redelivered message is still in flight.
      expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 1 });
      failSecond(new Error('handler failed'));
      await waitForInvocations(events, 3, 15_000);
      expect(events[2]?.Records[0]?.attributes.ApproximateReceiveCount).toBe('3');
      await waitFor('all deleted', async () => {
        const now = await counts(queueUrl);
        return now.visible === 0 && now.inFlight === 0;
      }, 5000);
      expect(events).toHaveLength(3);
    } finally {
      // Held invocations would keep their pollers, and so the suite's sqs.stop(), waiting when an expectation fails.
      releaseFirst();
      failSecond(new Error('released'));
    }
  }, 40_000);

  it('a thrown invocation deletes nothing: the whole batch is redelivered', async () => {
    const { queueUrl, queueName } = await queueWithThree();
    const { invoker, events } = scriptedInvoker([
      () => {
        throw new Error('handler failed');
      },
    ]);
    sqs.addEventSourceMapping({ queueName, functionName: 'worker' }, invoker);

    // Generous: the redelivery waits out the visibility timeout, later when another test file shares the cores.
    await waitForInvocations(events, 2, 15_000);
    expect(bodies(events[1])).toEqual(['a', 'b', 'c']);
    await waitFor('nothing in flight', async () => (await counts(queueUrl)).inFlight === 0, 5000);
    expect(events).toHaveLength(2);
  });
});

describe('the long poll of the queue model', () => {
  it('receives a message that becomes visible between its receive and its wait at once, not at the deadline', async () => {
    // The poller test "an itemIdentifier that is not in the batch fails the whole batch" timed out under load: the
    // redelivery's timer fired a millisecond early against Date.now(), the receive found the batch still hidden,
    // the clock ticked before the wait looked for the next visibility, and the poll slept to its 20 s deadline.
    // A clock that ticks on every read puts that tick between any two reads: for some lead, the message is hidden
    // when the receive reads the clock and visible when the wait does. Real time is untouched (timers, the abort).
    const model = new SqsQueues(undefined);
    let clock = Date.now();
    const now = jest.spyOn(Date, 'now').mockImplementation(() => clock++);
    const missed: number[] = [];
    try {
      for (let lead = 1; lead <= 12; lead++) {
        const queue = model.addQueue(`ticking-${lead}`, { VisibilityTimeout: '0' }, {});
        const message = model.enqueue(queue, 'soon', {}, {}, undefined);
        message.visibleAt = clock + lead;
        const abort = new AbortController();
        // The poll's deadline is a minute of the ticking clock; a missed wake-up is ended by this real-time abort.
        const timer = setTimeout(() => abort.abort(), 2000);
        const received = await model.receiveWaiting(queue.name, 1, undefined, 60_000, abort.signal);
        clearTimeout(timer);
        if (received[0]?.id !== message.id) missed.push(lead);
      }
    } finally {
      now.mockRestore();
    }
    expect({ missed }).toEqual({ missed: [] });
  }, 30_000);
});

describe('persistence', () => {
  it('keeps queues and messages in dataDir across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-sqs-'));
    try {
      const first = new LocalSqs({ endpointUrl: () => 'http://127.0.0.1:1', dataDir });
      first.createQueue('durable', { VisibilityTimeout: '7' });
      const messageId = first.sendByArn(first.queueArn('durable'), 'kept', { k: { DataType: 'String', StringValue: 'v' } });
      await first.stop();

      let url = '';
      const second = new LocalSqs({ endpointUrl: () => url, dataDir });
      const secondEndpoint = await listen(second);
      url = secondEndpoint.url;
      const secondClient = clientFor(url);
      try {
        const queueUrl = second.createQueue('durable');
        const out = await secondClient.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], AttributeNames: ['VisibilityTimeout'] }),
        );
        expect(out.Messages?.[0]).toMatchObject({ MessageId: messageId, Body: 'kept', MessageAttributes: { k: { StringValue: 'v' } } });
        const attributes = await secondClient.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }));
        expect(attributes.Attributes?.VisibilityTimeout).toBe('7');
      } finally {
        await second.stop();
        secondClient.destroy();
        await close(secondEndpoint.server);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

import type { ComplianceEvent } from '../../../../shared/compliance/event';
import { CompliancePublisher } from '../../../../shared/compliance/publisher';
import { UnavailableError } from '../../../../shared/errors';
import { MemoryOutbox, MemoryQueue } from '../../../support/memory';

/** The compliance queue port (SPEC §7): what a failed send means is decided here, once, for every use case. */

const event: ComplianceEvent = {
  eventId: 'chat.history:room_1:req_1',
  type: 'chat.history',
  actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
  target: { kind: 'room', id: 'room_1' },
  at: 1_800_000_000_000,
};

function setup() {
  const queue = new MemoryQueue();
  const outbox = new MemoryOutbox();
  return { queue, outbox, publisher: new CompliancePublisher(queue, outbox) };
}

describe('publish: an event that exists nowhere else', () => {
  test('goes on the queue as it is', async () => {
    const { queue, publisher } = setup();
    await publisher.publish(event, 'the history was read but not archived; retry');
    expect(queue.bodies).toEqual([event]);
  });

  test('a failed send is a 503 carrying the caller’s message, so the client retries the command', async () => {
    const { queue, publisher } = setup();
    queue.failNextSends = 1;
    const failed = publisher.publish(event, 'the history was read but not archived; retry');
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    await expect(failed).rejects.toMatchObject({ status: 503, message: 'the history was read but not archived; retry', retryAfterMs: expect.any(Number) });
    expect(queue.bodies).toEqual([]);
  });
});

describe('publishOutboxed: an event already in the outbox with its change', () => {
  test('sent, then its outbox item cleared', async () => {
    const { queue, outbox, publisher } = setup();
    outbox.add(event);
    await publisher.publishOutboxed(event, 'stored but not archived; retry with the same clientMsgId');
    expect(queue.bodies).toEqual([event]);
    expect(outbox.items.size).toBe(0);
  });

  test('a failed send keeps the outbox item (for the retry or the sweep) and, with whenUnsent, is a 503 with that message', async () => {
    const { queue, outbox, publisher } = setup();
    outbox.add(event);
    queue.failNextSends = 1;
    await expect(publisher.publishOutboxed(event, 'stored but not archived; retry with the same clientMsgId')).rejects.toMatchObject({
      status: 503,
      message: 'stored but not archived; retry with the same clientMsgId',
    });
    expect([...outbox.items.keys()]).toEqual([event.eventId]);
    // The retry sends it and only then clears it.
    await publisher.publishOutboxed(event, 'stored but not archived; retry with the same clientMsgId');
    expect(queue.bodies).toEqual([event]);
    expect(outbox.items.size).toBe(0);
  });

  test('without whenUnsent a failed send is not an error (a command without a client id must not be retried): the item waits for the sweep', async () => {
    const { queue, outbox, publisher } = setup();
    outbox.add(event);
    queue.failNextSends = 1;
    await expect(publisher.publishOutboxed(event)).resolves.toBeUndefined();
    expect(queue.bodies).toEqual([]);
    expect([...outbox.items.keys()]).toEqual([event.eventId]);
  });

  test('the outbox item is cleared only after the send was accepted', async () => {
    const { queue, outbox, publisher } = setup();
    outbox.add(event);
    const order: string[] = [];
    jest.spyOn(queue, 'send').mockImplementation(async () => void order.push('send'));
    jest.spyOn(outbox, 'clear').mockImplementation(async () => void order.push('clear'));
    await publisher.publishOutboxed(event);
    expect(order).toEqual(['send', 'clear']);
  });

  test('a clear that fails after the send is not an error: the sweep records the item again, a duplicate the store drops', async () => {
    const { queue, outbox, publisher } = setup();
    outbox.add(event);
    jest.spyOn(outbox, 'clear').mockRejectedValueOnce(new Error('DynamoDB unavailable'));
    await expect(publisher.publishOutboxed(event, 'retry')).resolves.toBeUndefined();
    expect(queue.bodies).toEqual([event]);
    expect([...outbox.items.keys()]).toEqual([event.eventId]);
  });
});

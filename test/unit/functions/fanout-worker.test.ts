import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeFanOutWorker } from '../../../functions/lib/fanout-worker-handler';
import type { FanOutShard } from '../../../shared/connections/fanout';

const context = { getRemainingTimeInMillis: () => 15_000 } as unknown as Context;

function record(messageId: string, body: unknown, receiveCount = 1): SQSRecord {
  return { messageId, body: JSON.stringify(body), attributes: { ApproximateReceiveCount: String(receiveCount) } } as unknown as SQSRecord;
}
const shard = (id: string): FanOutShard => ({ shardId: id, frame: '{"type":"event"}', connectionIds: [`${id}-c1`] });

describe('fan-out worker', () => {
  test('reports the failed shards of a batch alone, by message id, and tells the worker which are retries', async () => {
    const seen: Array<[string, boolean]> = [];
    const worker = makeFanOutWorker({
      async deliver(s, retried) {
        seen.push([s.shardId, retried]);
        if (s.shardId === 'fo.1') throw new Error('one post failed');
        return { delivered: 1, removed: 0, refused: 0, skipped: 0 };
      },
    });
    const event: SQSEvent = { Records: [record('m0', shard('fo.0')), record('m1', shard('fo.1'), 2), record('m2', { not: 'a shard' })] };
    const answer = await worker(event, context);
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
    expect(seen.sort()).toEqual([
      ['fo.0', false],
      ['fo.1', true],
    ]);
  });

  test('invocations running at once (the local cloud runs several in one process) each report only their own failures', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = makeFanOutWorker({
      async deliver(s) {
        await gate;
        if (s.shardId.endsWith('bad')) throw new Error('failed');
        return { delivered: 1, removed: 0, refused: 0, skipped: 0 };
      },
    });
    const first = worker({ Records: [record('a0', shard('a.bad')), record('a1', shard('a.ok'))] }, context);
    const second = worker({ Records: [record('b0', shard('b.ok')), record('b1', shard('b.bad'))] }, context);
    release();
    expect((await first).batchItemFailures).toEqual([{ itemIdentifier: 'a0' }]);
    expect((await second).batchItemFailures).toEqual([{ itemIdentifier: 'b1' }]);
  });
});

import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { FANOUT_MAX_RECEIVE_COUNT, LOCAL_RESOURCE_NAMES } from '../../infra/functions';
import type { FaultRequest } from '../../infra/local/faults';
import { startTestCloud, type TestCloud, testWithLocalEmulators } from '../support/cloud';
import { type TestClient, waitFor } from '../support/client';

/**
 * The fan-out tier for large rooms (issue 21 item 2; docs/architecture.md, "Fan-out tier"), end to end through
 * the WebSocket API: with a direct maximum of 10 connections and shards of 8, a room of 60 followers is
 * delivered by the fan-out workers. Every follower is a raw connection whose every `chat.message` frame is
 * counted, so "exactly once" is checked on the wire, before any client-side de-duplication.
 */
const FOLLOWERS = 60;
const DIRECT_MAX = 10;
const SHARD_SIZE = 8;
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({
    // A failed shard is visible again after 3 s (longer than any shard takes here, or SQS would hand it out twice);
    // one attempt per post, so an injected 500 fails the shard at once.
    fanOutVisibilitySeconds: 3,
    env: { FANOUT_DIRECT_MAX: String(DIRECT_MAX), FANOUT_SHARD_SIZE: String(SHARD_SIZE), MANAGEMENT_API_MAX_ATTEMPTS: '1' },
  });
});
afterAll(async () => {
  cloud.cloud.faults.clear();
  await cloud.stop();
});

let roomSeq = 0;
async function ok(client: TestClient, action: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const response = await client.request(action, args, 20_000);
  if (response.status !== 200) throw new Error(`${action}: ${response.status} ${JSON.stringify(response.error)}`);
  return response.body as Record<string, unknown>;
}

/** An open room with `followers` followers, each on one connection of their own, and its poster. */
async function auditorium(followers: number) {
  const n = ++roomSeq;
  const poster = await cloud.connect(`sip:presenter${n}@contoso.com`);
  const { roomId } = (await ok(poster, 'room.create', { name: `auditorium ${n}`, privacy: 'open' })) as { roomId: string };
  await ok(poster, 'chat.join', { roomId });
  const clients: TestClient[] = [];
  for (let start = 0; start < followers; start += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, followers - start) }, async (_, i) => {
        const client = await cloud.connect(`sip:follower${n}-${start + i}@contoso.com`);
        await ok(client, 'chat.join', { roomId });
        clients.push(client);
      }),
    );
  }
  return { poster, roomId, clients };
}

const copiesOf = (client: TestClient, roomId: string, seq: number) => client.events.filter((e) => e.event === 'chat.message' && e.roomId === roomId && e.seq === seq).length;
const allHaveIt = (clients: readonly TestClient[], roomId: string, seq: number) => (clients.every((c) => copiesOf(c, roomId, seq) >= 1) ? true : undefined);

/** The management API's posts of one room's message (its seq in the frame). */
const postOf = (roomId: string, seq: number) => (request: FaultRequest) =>
  request.operation === 'PostToConnection' && request.body.includes(`"roomId":"${roomId}"`) && request.body.includes(`"seq":${seq},`);

describe('chat fan-out tier', () => {
  testWithLocalEmulators(
    `a room of ${FOLLOWERS} followers (direct maximum ${DIRECT_MAX}, shards of ${SHARD_SIZE}) gets every message exactly once on every connection`,
    async () => {
      const { poster, roomId, clients } = await auditorium(FOLLOWERS);
      const seqs: number[] = [];
      for (let m = 0; m < 3; m++) seqs.push(Number((await ok(poster, 'chat.grpchat', { roomId, text: `talk ${m}` })).seq));
      for (const seq of seqs) await waitFor(`seq ${seq} on every follower`, () => allHaveIt(clients, roomId, seq), 20_000);
      // The last shard's post may still be on its way to a socket: one more round trip on every connection.
      await Promise.all(clients.map((c) => ok(c, 'ping')));
      for (const seq of seqs) expect(clients.map((c) => copiesOf(c, roomId, seq))).toEqual(clients.map(() => 1));
      // The poster has the answer, not the event.
      expect(poster.events.filter((e) => e.event === 'chat.message')).toHaveLength(0);
    },
    60_000,
  );

  testWithLocalEmulators(
    'the post is answered once stored, before the fan-out workers have delivered it',
    async () => {
      const { poster, roomId, clients } = await auditorium(DIRECT_MAX + 5);
      // Every post of the workers hangs 1 s before it reaches the gateway.
      const hang = cloud.cloud.faults.inject({ service: 'management', operation: 'PostToConnection', fault: { delayMs: 1000, then: 'pass' }, times: Infinity });
      try {
        const answer = await ok(poster, 'chat.grpchat', { roomId, text: 'answered first' });
        const seq = Number(answer.seq);
        expect(clients.filter((c) => copiesOf(c, roomId, seq) > 0)).toHaveLength(0);
        await waitFor('every follower', () => allHaveIt(clients, roomId, seq), 20_000);
        await Promise.all(clients.map((c) => ok(c, 'ping')));
        expect(hang.hits).toBe(DIRECT_MAX + 5);
        expect(clients.map((c) => copiesOf(c, roomId, seq))).toEqual(clients.map(() => 1));
      } finally {
        hang.remove();
      }
    },
    60_000,
  );

  testWithLocalEmulators(
    'a shard that fails on one connection is retried by SQS for that connection only: still exactly once everywhere',
    async () => {
      const { poster, roomId, clients } = await auditorium(FOLLOWERS);
      const roomSeqNext = 1;
      let victim: string | undefined;
      // The first post of this message fails (500, one attempt): its shard fails, the worker reports it, SQS redelivers it.
      const fault = cloud.cloud.faults.inject({
        service: 'management',
        match: (request) => {
          if (!postOf(roomId, roomSeqNext)(request)) return false;
          victim ??= request.resource;
          return request.resource === victim;
        },
        fault: { status: 500, type: 'InternalServerError' },
        times: 1,
      });
      const seq = Number((await ok(poster, 'chat.grpchat', { roomId, text: 'retried shard' })).seq);
      expect(seq).toBe(roomSeqNext);
      await waitFor('every follower, the retried one included', () => allHaveIt(clients, roomId, seq), 30_000);
      await Promise.all(clients.map((c) => ok(c, 'ping')));
      expect(fault.hits).toBe(1);
      expect(clients.map((c) => copiesOf(c, roomId, seq))).toEqual(clients.map(() => 1));
    },
    60_000,
  );

  testWithLocalEmulators(
    `a shard that always fails ends in the dead-letter queue after ${FANOUT_MAX_RECEIVE_COUNT} attempts; its other connections got the message once`,
    async () => {
      const { poster, roomId, clients } = await auditorium(DIRECT_MAX + 1);
      let victim: string | undefined;
      const fault = cloud.cloud.faults.inject({
        service: 'management',
        match: (request) => {
          if (!postOf(roomId, 1)(request)) return false;
          victim ??= request.resource;
          return request.resource === victim;
        },
        fault: { status: 500, type: 'InternalServerError' },
        times: Infinity,
      });
      try {
        const seq = Number((await ok(poster, 'chat.grpchat', { roomId, text: 'dead letter' })).seq);
        const sqs = new SQSClient({ endpoint: cloud.cloud.url });
        const deadLetterUrl = cloud.cloud.sqs!.queueUrl(LOCAL_RESOURCE_NAMES.fanOutDeadLetterQueue);
        const dead = await waitFor(
          'the shard in the dead-letter queue',
          async () => {
            const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
            return (answer.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as { connectionIds: string[]; frame: string }).find((body) => body.connectionIds.includes(victim ?? '?'));
          },
          30_000,
        );
        sqs.destroy();
        expect(fault.hits).toBe(FANOUT_MAX_RECEIVE_COUNT);
        expect(JSON.parse(dead.frame)).toMatchObject({ event: 'chat.message', roomId, seq });
        const others = clients.filter((c) => copiesOf(c, roomId, seq) > 0);
        expect(others).toHaveLength(clients.length - 1);
        await Promise.all(clients.map((c) => ok(c, 'ping')));
        expect(others.map((c) => copiesOf(c, roomId, seq))).toEqual(others.map(() => 1));
      } finally {
        fault.remove();
      }
    },
    60_000,
  );
});

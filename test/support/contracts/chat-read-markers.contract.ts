import { randomUUID } from 'node:crypto';
import type { ReadMarkerStore } from '../../../shared/chat/ports';

/**
 * What the read marker part of every `ChatStore` promises (shared/chat/ports.ts `ReadMarkerStore`, SPEC §9), run
 * against `MemoryChatStore` (test/unit/contracts/chat-read-markers.memory.test.ts) and `DynamoChatStore` on DynamoDB
 * Local (test/integration/contracts/chat-read-markers.dynamodb.test.ts): the marker only moves forward, a first start
 * never overwrites a marker, mention seqs are a set (adding one twice counts once, pruning is idempotent), the set is
 * capped, and a room without a marker is absent, never an error.
 */
export function readMarkerStoreContract(makeStore: () => Promise<ReadMarkerStore>): void {
  let store: ReadMarkerStore;
  const NOW = 1_800_000_000_000;

  beforeAll(async () => {
    store = await makeStore();
  });

  /** Ids unique to the test, so one store (one table) serves the whole suite. */
  const unique = () => randomUUID().slice(0, 8);
  const roomId = () => `room_${unique()}`;
  const uri = () => `sip:reader-${unique()}@contoso.com`;

  test('readMarkers: rooms without a marker are absent; markers are per user and room', async () => {
    const [room, other, reader, someoneElse] = [roomId(), roomId(), uri(), uri()];
    await store.markRead(room, reader, 3, NOW);
    const markers = await store.readMarkers(reader, [room, other]);
    expect([...markers.entries()]).toEqual([[room, { readSeq: 3, mentionSeqs: [] }]]);
    expect((await store.readMarkers(someoneElse, [room])).size).toBe(0);
    expect((await store.readMarkers(reader, [])).size).toBe(0);
  });

  test('markRead moves the marker forward only: an equal or lower seq answers moved false and the marker as stored', async () => {
    const [room, reader] = [roomId(), uri()];
    expect(await store.markRead(room, reader, 5, NOW)).toEqual({ moved: true, marker: { readSeq: 5, mentionSeqs: [] } });
    expect(await store.markRead(room, reader, 2, NOW)).toEqual({ moved: false, marker: { readSeq: 5, mentionSeqs: [] } });
    expect(await store.markRead(room, reader, 5, NOW)).toEqual({ moved: false, marker: { readSeq: 5, mentionSeqs: [] } });
    expect(await store.markRead(room, reader, 7, NOW)).toEqual({ moved: true, marker: { readSeq: 7, mentionSeqs: [] } });
  });

  test('markRead racing: of concurrent marks the highest stays', async () => {
    const [room, reader] = [roomId(), uri()];
    await Promise.all([9, 4, 7, 1, 8].map((seq) => store.markRead(room, reader, seq, NOW)));
    expect((await store.readMarkers(reader, [room])).get(room)?.readSeq).toBe(9);
  });

  test('startReading sets a marker only where there is none, and answers the stored one', async () => {
    const [room, reader] = [roomId(), uri()];
    expect(await store.startReading(room, reader, 4)).toEqual({ readSeq: 4, mentionSeqs: [] });
    expect(await store.startReading(room, reader, 9)).toEqual({ readSeq: 4, mentionSeqs: [] });
    await store.markRead(room, reader, 6, NOW);
    expect(await store.startReading(room, reader, 10)).toEqual({ readSeq: 6, mentionSeqs: [] });
  });

  test('startReading keeps the mentions recorded before it (an item holding only mentions gets its marker)', async () => {
    const [room, reader] = [roomId(), uri()];
    await store.recordMention(room, reader, 2, 10);
    expect(await store.startReading(room, reader, 5)).toEqual({ readSeq: 5, mentionSeqs: [2] });
  });

  test('recordMention is a set: the same seq twice counts once; an item with mentions only has marker 0', async () => {
    const [room, reader] = [roomId(), uri()];
    expect(await store.recordMention(room, reader, 3, 10)).toBe(true);
    expect(await store.recordMention(room, reader, 3, 10)).toBe(true);
    expect(await store.recordMention(room, reader, 1, 10)).toBe(true);
    expect((await store.readMarkers(reader, [room])).get(room)).toEqual({ readSeq: 0, mentionSeqs: [1, 3] });
  });

  test('recordMention stops at max (false, nothing added), and a seq already held is still true', async () => {
    const [room, reader] = [roomId(), uri()];
    for (const seq of [1, 2, 3]) expect(await store.recordMention(room, reader, seq, 3)).toBe(true);
    expect(await store.recordMention(room, reader, 4, 3)).toBe(false);
    expect(await store.recordMention(room, reader, 2, 3)).toBe(true);
    expect((await store.readMarkers(reader, [room])).get(room)?.mentionSeqs).toEqual([1, 2, 3]);
  });

  test('markRead keeps the mentions; pruneMentions removes only the seqs given, idempotently, even all of them', async () => {
    const [room, reader] = [roomId(), uri()];
    for (const seq of [2, 4, 6]) await store.recordMention(room, reader, seq, 10);
    expect(await store.markRead(room, reader, 4, NOW)).toEqual({ moved: true, marker: { readSeq: 4, mentionSeqs: [2, 4, 6] } });
    await store.pruneMentions(room, reader, [2, 4]);
    await store.pruneMentions(room, reader, [2, 4]);
    expect((await store.readMarkers(reader, [room])).get(room)).toEqual({ readSeq: 4, mentionSeqs: [6] });
    await store.pruneMentions(room, reader, [6, 8]);
    expect((await store.readMarkers(reader, [room])).get(room)).toEqual({ readSeq: 4, mentionSeqs: [] });
    await store.recordMention(room, reader, 9, 10);
    expect((await store.readMarkers(reader, [room])).get(room)).toEqual({ readSeq: 4, mentionSeqs: [9] });
  });

  test('pruneMentions of a user without an item, or with no seqs, is a no-op that creates nothing', async () => {
    const [room, reader] = [roomId(), uri()];
    await store.pruneMentions(room, reader, [1]);
    await store.pruneMentions(room, reader, []);
    expect((await store.readMarkers(reader, [room])).size).toBe(0);
  });
}

import { PresenceTracker, RoomSequence } from '../../../client/src';

describe('RoomSequence', () => {
  test('a seq seen twice is a duplicate', () => {
    const sequence = new RoomSequence();
    expect(sequence.add(1)).toBe(true);
    expect(sequence.add(1)).toBe(false);
  });

  test('the watermark moves over contiguous seqs, whatever order they came in', () => {
    const sequence = new RoomSequence(2);
    sequence.add(5);
    sequence.add(3);
    expect(sequence.watermark).toBe(3);
    expect(sequence.missing()).toEqual([4]);
    sequence.add(4);
    expect(sequence.watermark).toBe(5);
    expect(sequence.missing()).toEqual([]);
  });

  test('seqs at or below the starting watermark were there before: duplicates', () => {
    const sequence = new RoomSequence(10);
    expect(sequence.add(9)).toBe(false);
    expect(sequence.add(11)).toBe(true);
  });

  test('skipTo jumps over history and keeps what was seen above it', () => {
    const sequence = new RoomSequence();
    sequence.add(8);
    sequence.skipTo(6);
    expect(sequence.watermark).toBe(6);
    expect(sequence.missing()).toEqual([7]);
    sequence.skipTo(7);
    expect(sequence.watermark).toBe(8);
  });
});

describe('PresenceTracker (docs/protocol.md, Ordering and gaps)', () => {
  const uri = 'sip:bob@contoso.com';
  const snapshot = (seq: number, version: number) =>
    ({ subscriptionId: 's', state: 'subscribed', expiresAt: 0, seq, targets: [{ uri, presence: { availability: 'online' }, version }] }) as const;

  test('seq = last + 1 is applied', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(0, 1));
    expect(tracker.notify('s', 1, uri, { availability: 'busy' }, 2)).toEqual({ kind: 'apply', changed: true });
    expect(tracker.get(uri)?.presence.availability).toBe('busy');
  });

  test('a larger seq is a gap', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(4, 1));
    expect(tracker.notify('s', 7, uri, { availability: 'away' }, 3)).toEqual({ kind: 'gap', expected: 5, received: 7, changed: true });
  });

  test('a seq not above the snapshot is stale and dropped', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(4, 5));
    expect(tracker.notify('s', 4, uri, { availability: 'away' }, 9)).toEqual({ kind: 'stale' });
    expect(tracker.get(uri)?.version).toBe(5);
  });

  test('notifications that cross: only a higher version is kept', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(0, 5));
    expect(tracker.notify('s', 1, uri, { availability: 'away' }, 4)).toEqual({ kind: 'apply', changed: false });
    expect(tracker.get(uri)?.presence.availability).toBe('online');
  });

  test('a terminated subscription is forgotten', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(3, 1));
    tracker.snapshot({ subscriptionId: 's', state: 'terminated', reason: 'expired', uris: [uri] });
    expect(tracker.subscriptionSeq('s')).toBeUndefined();
  });
});

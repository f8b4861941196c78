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

describe('PresenceTracker (docs/protocol.md, Ordering and gaps): gaps by the target’s version', () => {
  const uri = 'sip:bob@contoso.com';
  const snapshot = (version: number, subscriptionId = 's') =>
    ({ subscriptionId, state: 'subscribed', expiresAt: 0, targets: [{ uri, presence: { availability: 'online' }, version }] }) as const;

  test('version = held + 1 is the next change: applied', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(1));
    expect(tracker.notify('s', uri, { availability: 'busy' }, 2)).toEqual({ kind: 'apply' });
    expect(tracker.get(uri)).toMatchObject({ presence: { availability: 'busy' }, version: 2 });
  });

  test('a version jump is a gap (a change was missed); the notification is applied all the same', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(4));
    expect(tracker.notify('s', uri, { availability: 'away' }, 7)).toEqual({ kind: 'gap', uri, expected: 5, received: 7 });
    expect(tracker.get(uri)?.version).toBe(7);
  });

  test('a version not above the one held is stale and dropped (crossing notifications, a newer snapshot)', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(5));
    expect(tracker.notify('s', uri, { availability: 'away' }, 5)).toEqual({ kind: 'stale' });
    expect(tracker.notify('s', uri, { availability: 'away' }, 4)).toEqual({ kind: 'stale' });
    expect(tracker.get(uri)).toMatchObject({ presence: { availability: 'online' }, version: 5 });
  });

  test('two subscriptions watching one target: the second copy of a change is stale, not a gap', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(1, 's'));
    tracker.snapshot(snapshot(1, 't'));
    expect(tracker.notify('s', uri, { availability: 'busy' }, 2)).toEqual({ kind: 'apply' });
    expect(tracker.notify('t', uri, { availability: 'busy' }, 2)).toEqual({ kind: 'stale' });
  });

  test('before any snapshot of the target, a notification is unknown: applied if newer, a baseline from then on', () => {
    const tracker = new PresenceTracker();
    expect(tracker.notify('s', uri, { availability: 'busy' }, 6)).toEqual({ kind: 'unknown', changed: true });
    tracker.snapshot(snapshot(5));
    expect(tracker.get(uri)?.version).toBe(6);
    expect(tracker.notify('s', uri, { availability: 'away' }, 7)).toEqual({ kind: 'apply' });
  });

  test('a terminated subscription is forgotten: its targets are no baseline for gaps any more', () => {
    const tracker = new PresenceTracker();
    tracker.snapshot(snapshot(3));
    tracker.snapshot({ subscriptionId: 's', state: 'terminated', reason: 'expired', uris: [uri] });
    expect(tracker.watchedBy('s')).toBeUndefined();
    expect(tracker.notify('s2', uri, { availability: 'away' }, 9)).toEqual({ kind: 'unknown', changed: true });
  });
});

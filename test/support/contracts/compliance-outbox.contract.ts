import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceOutbox } from '../../../shared/compliance/ports';

/** An outbox under test and how a command's transaction writes an item to it (the adapter's `outboxPut`). */
export interface ComplianceOutboxFixture {
  readonly outbox: ComplianceOutbox;
  write(event: ComplianceEvent): Promise<void>;
}

const T0 = 1_800_000_000_000;

/**
 * The promises of `ComplianceOutbox` (shared/compliance/ports.ts), run against `MemoryOutbox` (test/unit/contracts/)
 * and `DynamoComplianceOutbox` on DynamoDB Local (test/integration/contracts/). `due` reads the whole outbox, so
 * `make` answers an empty one for every test.
 */
export function complianceOutboxContract(make: () => Promise<ComplianceOutboxFixture>): void {
  describe('ComplianceOutbox contract', () => {
    let fixture: ComplianceOutboxFixture;

    beforeEach(async () => {
      fixture = await make();
    });

    const event = (n: number, at = T0 + n * 1_000): ComplianceEvent => ({
      eventId: `chat.post:room_contract:${n}`,
      type: 'chat.post',
      actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
      target: { kind: 'room', id: 'room_contract', name: 'Contract' },
      at,
      content: `post ${n}`,
      details: { seq: n },
    });
    const ids = (events: readonly ComplianceEvent[]) => events.map((e) => e.eventId);

    test('an empty outbox has nothing due', async () => {
      expect(await fixture.outbox.due(T0 + 1_000_000, 10)).toEqual([]);
    });

    test('due: the events written strictly before the cutoff, oldest first, at most `limit`, as written', async () => {
      for (const n of [5, 1, 4, 2, 3]) await fixture.write(event(n));
      expect(await fixture.outbox.due(T0 + 4_000, 10)).toEqual([event(1), event(2), event(3)]);
      expect(ids(await fixture.outbox.due(T0 + 10_000, 2))).toEqual(ids([event(1), event(2)]));
      expect(await fixture.outbox.due(T0 + 1_000, 10)).toEqual([]);
    });

    test('clear removes that event only; clearing one already cleared is not an error', async () => {
      for (const n of [1, 2]) await fixture.write(event(n));
      await fixture.outbox.clear(event(1));
      await fixture.outbox.clear(event(1));
      expect(ids(await fixture.outbox.due(T0 + 10_000, 10))).toEqual(ids([event(2)]));
    });

    test('the same event written twice (a retried command) is one item', async () => {
      await fixture.write(event(1));
      await fixture.write(event(1));
      expect(await fixture.outbox.due(T0 + 10_000, 10)).toEqual([event(1)]);
      await fixture.outbox.clear(event(1));
      expect(await fixture.outbox.due(T0 + 10_000, 10)).toEqual([]);
    });

    test('events of the same instant are all due, none lost to a tie', async () => {
      for (const n of [1, 2, 3]) await fixture.write(event(n, T0));
      expect(ids(await fixture.outbox.due(T0 + 1, 10)).sort()).toEqual(ids([event(1), event(2), event(3)]).sort());
    });
  });
}

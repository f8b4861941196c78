import { complianceOutboxContract } from '../../support/contracts/compliance-outbox.contract';
import { MemoryOutbox } from '../../support/memory';

/** The ComplianceOutbox contract against `MemoryOutbox`, which the memory stores write to and the publisher clears. */
complianceOutboxContract(async () => {
  const outbox = new MemoryOutbox();
  return { outbox, write: async (event) => outbox.add(event) };
});

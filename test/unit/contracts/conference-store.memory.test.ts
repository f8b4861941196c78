import { conferenceStoreContract } from '../../support/contracts/conference-store.contract';
import { MemoryOutbox } from '../../support/memory/compliance';
import { MemoryConferenceStore } from '../../support/memory/conference-store';

/** The ConferenceStore contract against the memory store the conference use-case tests run on. */
conferenceStoreContract(async () => {
  const outbox = new MemoryOutbox();
  return { store: new MemoryConferenceStore(outbox), outbox };
});

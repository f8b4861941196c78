import { chatStoreContract } from '../../support/contracts/chat-store.contract';
import { MemoryChatStore } from '../../support/memory/chat-store';
import { MemoryOutbox } from '../../support/memory/compliance';

describe('ChatStore contract: MemoryChatStore', () => {
  chatStoreContract(async () => {
    const outbox = new MemoryOutbox();
    return { store: new MemoryChatStore(outbox), outbox };
  });
});

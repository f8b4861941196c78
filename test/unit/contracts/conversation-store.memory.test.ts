import { conversationReadStateContract } from '../../support/contracts/conversation-read-state.contract';
import { conversationStoreContract } from '../../support/contracts/conversation-store.contract';
import { MemoryConversationStore } from '../../support/memory/conversation-store';

/** The ConversationStore contract against the memory store the conversation use-case tests run on. */
conversationStoreContract(async () => {
  const store = new MemoryConversationStore();
  return { store, outbox: store.outbox };
});

/** Its read-state promises (issue 22 item 3). */
conversationReadStateContract(async () => ({ store: new MemoryConversationStore() }));

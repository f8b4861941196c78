import { readMarkerStoreContract } from '../../support/contracts/chat-read-markers.contract';
import { MemoryChatStore } from '../../support/memory/chat-store';

describe('ReadMarkerStore contract (the read markers of ChatStore): MemoryChatStore', () => {
  readMarkerStoreContract(async () => new MemoryChatStore());
});

import { presenceStoreContract } from '../../support/contracts/presence-store.contract';
import { MemoryPresenceStore } from '../../support/memory/presence-store';

describe('PresenceStore contract: MemoryPresenceStore', () => {
  presenceStoreContract(async () => new MemoryPresenceStore());
});

import { connectionStoreContract } from '../../support/contracts/connection-store.contract';
import { MemoryConnectionStore } from '../../support/memory';

/** The ConnectionStore contract against the memory store the delivery and presence tests run on. */
connectionStoreContract(async (clock) => new MemoryConnectionStore(() => clock.now()));

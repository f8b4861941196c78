import { complianceStoreContract } from '../../support/contracts/compliance-store.contract';
import { MemoryComplianceStore } from '../../support/memory';

/** The compliance store's contract against the memory store the exporter's tests run on. */
complianceStoreContract(async () => new MemoryComplianceStore());

/**
 * In-memory ports under the use cases (issue 18): a manual clock and timers, a recording delivery, the compliance
 * queue and outbox, connections. Each area's store lives beside these (`chat-store.ts`, ...) and is held to the same
 * contract suite as its DynamoDB adapter (test/integration/contracts/), so the two cannot drift.
 */
export { ManualClock } from './clock';
export { ManualTimers } from './timers';
export { RecordingDelivery, type Delivered } from './delivery';
export { MemoryCompliance, MemoryOutbox, MemoryQueue } from './compliance';
export { MemoryArchive, MemoryComplianceStore } from './compliance-store';
export { MemoryConnectionStore, MemoryConnections } from './connections';
export { MemoryConversationStore, type ConversationWrite } from './conversation-store';
export { MemoryPresenceStore } from './presence-store';
export { MemoryChatStore } from './chat-store';
export { MemoryConferenceStore, type ConferenceWrite } from './conference-store';

/** Ids like production's (`prefix_…`), numbered so a test can predict them. */
export function sequentialIds(): (prefix: string) => string {
  let next = 0;
  return (prefix: string) => `${prefix}_${String(++next).padStart(6, '0')}`;
}

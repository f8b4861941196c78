export * from './client';
export * from './protocol';
export { PresenceTracker, type NotifyDecision } from './presence-tracker';
export { RoomSequence } from './room-sequence';

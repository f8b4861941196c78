import type { ChatEvents } from '../chat/events';
import type { ConferenceEvents } from '../conference/events';
import type { ConversationEvents } from '../conversation/events';
import type { PresenceEvents } from '../presence/events';

/**
 * What the server pushes: each event's payload (the frame's fields beside `type` and `event`), by name, as the
 * use cases send it (docs/protocol.md). Each area declares its own events (shared/<area>/events.ts) and hands them
 * to its delivery port as `{event, payload}`; the envelope is built at the edge (shared/connections/delivery.ts),
 * so the areas never import the protocol. client/src/protocol.ts `ServerEvents` is checked against this map
 * (test/unit/client/protocol-drift.test.ts). Types only: no AWS import.
 */
export interface ServerEventPayloads extends ConversationEvents, ConferenceEvents, PresenceEvents, ChatEvents {}

export type ServerEventName = keyof ServerEventPayloads;


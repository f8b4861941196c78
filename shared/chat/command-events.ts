import { actorOf, type ComplianceEvent, type ComplianceEventType } from '../compliance/event';
import type { ComplianceQueue } from '../compliance/ports';
import type { ChatCaller } from './dependencies';
import type { Room } from './room';

/** The event of a command without a client id: its request id makes it stable across redeliveries of this command. */
export function commandEvent(caller: ChatCaller, type: ComplianceEventType, room: Pick<Room, 'roomId'> & { readonly name?: string }, at: number, details: Record<string, string | number> = {}): ComplianceEvent {
  return {
    eventId: `${type}:${room.roomId}:${caller.identity.uri}:${caller.requestId}`,
    type,
    actor: actorOf(caller.identity),
    target: { kind: 'room', id: room.roomId, ...(room.name !== undefined ? { name: room.name } : {}) },
    at,
    details,
  };
}

/** A read's or a file's event (it exists nowhere else): on the queue before the answer, else 503 and the retry archives it. */
export function archiveCommand(compliance: ComplianceQueue, caller: ChatCaller, type: ComplianceEventType, room: Room, at: number, details: Record<string, string | number> = {}): Promise<void> {
  return compliance.publish(commandEvent(caller, type, room, at, details), 'not yet archived; retry');
}

/**
 * A join's or part's event (already in the outbox with the change): a failed send is not an error, the sweep
 * records the outbox item, and a client told to retry a command without a client id would make a second join or part.
 */
export function archiveFromOutbox(compliance: ComplianceQueue, event: ComplianceEvent): Promise<void> {
  return compliance.publishOutboxed(event);
}

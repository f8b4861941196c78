import type { Identity } from '../../../../shared/auth/identity';
import type { ChatEvents } from '../../../../shared/chat/events';
import type { FileStorage, PresenceAvailability } from '../../../../shared/chat/ports';
import type { RoomDefinition } from '../../../../shared/chat/room';
import { type ChatCaller, type ChatQuotas, ChatService } from '../../../../shared/chat/service';
import { ManualClock, MemoryChatStore, MemoryCompliance, RecordingDelivery, sequentialIds } from '../../../support/memory';

/** A user of the home domain, with one connection named `conn:{uri}` (RecordingDelivery's default). */
export function user(name: string, kind: Identity['kind'] = 'enterprise'): Identity {
  return { uri: `sip:${name}@contoso.com`, kind, name, device: 'desktop' };
}

/** A caller on the user's connection, with a request id of its own (or the one given: a redelivered command). */
let requests = 0;
export function callerOf(identity: Identity, requestId = `req-${++requests}`): ChatCaller {
  return { identity, connectionId: `conn:${identity.uri}`, requestId };
}

export const files: FileStorage = {
  uploadUrl: async (file, seconds, now) => ({ url: `https://files.example/${file.key}?put`, expiresAt: now + seconds * 1000 }),
  downloadUrl: async (file, seconds, now) => ({ url: `https://files.example/${file.key}`, expiresAt: now + seconds * 1000 }),
};

/** The chat service on memory ports with a manual clock: the store and the compliance side are the test's to inspect and to fail; `presence` for chat.occupants. */
export function chatOnMemory(quotas?: ChatQuotas, presence?: PresenceAvailability) {
  const clock = new ManualClock();
  const compliance = new MemoryCompliance();
  const store = new MemoryChatStore(compliance.outbox);
  const delivery = new RecordingDelivery<ChatEvents>();
  const service = new ChatService({
    store,
    delivery,
    compliance: compliance.port,
    clock,
    homeDomain: 'contoso.com',
    historyPageSize: 50,
    newId: sequentialIds(),
    files,
    fileUrlSeconds: 300,
    ...(quotas ? { quotas } : {}),
    ...(presence ? { presence } : {}),
  });
  const createRoom = async (manager: Identity, definition: Partial<RoomDefinition> = {}) => {
    const { roomId } = await service.createRoom(manager, {
      name: 'Room',
      description: '',
      category: 'general',
      privacy: 'open',
      type: 'normal',
      members: [],
      managers: [],
      presenters: [],
      ...definition,
    });
    return roomId;
  };
  /** The room as stored now (a test's concurrent writer starts from it). */
  const stored = async (roomId: string) => {
    const room = await store.getRoom(roomId);
    if (!room) throw new Error(`no room ${roomId}`);
    return room;
  };
  return { service, store, clock, compliance, delivery, createRoom, stored };
}

export const conn = (identity: Identity) => `conn:${identity.uri}`;

import type { Identity } from '../../../../shared/auth/identity';
import type { ConversationEvents } from '../../../../shared/conversation/events';
import type { SendCommand } from '../../../../shared/conversation/service';
import { ConversationService, IDLE_TIMER_RULE } from '../../../../shared/conversation/service';
import type { ConversationWrite } from '../../../support/memory';
import { ManualClock, ManualTimers, MemoryCompliance, MemoryConversationStore, RecordingDelivery, sequentialIds } from '../../../support/memory';

/** CONVERSATION_IDLE_SECONDS as the tests set it (the default, 900 s). */
export const IDLE_MS = 900_000;

export const user = (name: string, kind: Identity['kind'] = 'enterprise'): Identity => ({ uri: `sip:${name}@contoso.com`, kind, name, device: 'desktop' });
export const alice = user('alice');
export const bob = user('bob');
export const carol = user('carol');

/** Each user's one connection, as RecordingDelivery names it by default. */
export const conn = (identity: Identity) => `conn:${identity.uri}`;

/** The conversation use cases on memory ports, with a clock and timers the test moves. */
export function conversationHarness() {
  const clock = new ManualClock();
  const timers = new ManualTimers();
  const delivery = new RecordingDelivery<ConversationEvents>();
  const compliance = new MemoryCompliance();
  const store = new MemoryConversationStore(compliance.outbox);
  const service = new ConversationService({ store, delivery, timers, compliance: compliance.port, clock, idleMs: IDLE_MS, newId: sequentialIds() });

  const text = (body: string, clientMsgId?: string): Pick<SendCommand, 'text' | 'contentType' | 'clientMsgId'> => ({
    text: body,
    contentType: 'text/plain',
    ...(clientMsgId ? { clientMsgId } : {}),
  });

  return {
    clock,
    timers,
    delivery,
    compliance,
    store,
    service,
    /** A message opening a new conversation with `to`, from the sender's own connection. */
    open: (sender: Identity, to: readonly Identity[], body = 'hello', clientMsgId?: string) =>
      service.send(sender, conn(sender), { to: to.map((u) => u.uri), ...text(body, clientMsgId) }),
    /** A message on an existing conversation. */
    say: (sender: Identity, conversationId: string, body = 'hi', clientMsgId?: string) =>
      service.send(sender, conn(sender), { conversationId, ...text(body, clientMsgId) }),
    /** Fires, in order, every idle timer the Scheduler would have fired by now; the outcomes in the same order. */
    async fireDue(): Promise<Array<'acted' | 'rearmed' | 'ignored'>> {
      const outcomes: Array<'acted' | 'rearmed' | 'ignored'> = [];
      for (const firing of timers.takeDue(clock.now(), IDLE_TIMER_RULE)) outcomes.push(await service.onIdleTimer(firing));
      return outcomes;
    },
    /** The idle timers armed for a conversation, as `version@at`. */
    idleTimers: (conversationId: string) => timers.pending(IDLE_TIMER_RULE).filter((t) => t.subject === conversationId).map((t) => `${t.version}@${t.at}`),
    /** Every `arm` call for the idle rule so far (moves included). */
    idleArms: () => timers.history.filter((t) => t.rule === IDLE_TIMER_RULE),
    /** Ids of the archived compliance events of IM messages (one per event id, queue and outbox together). */
    archivedMessages: () => compliance.archived().filter((e) => e.type === 'im.message').map((e) => e.details?.messageId),
    /** How many times the queue got each message's event (at least once; more is a duplicate the store drops). */
    sendsOf: (messageId: string) => compliance.sent().filter((e) => e.details?.messageId === messageId).length,
    /** `im.ended` events as `conversationId:reason` per receiving connection. */
    endedFor: (identity: Identity) =>
      delivery.named('im.ended').filter((e) => e.connectionIds.includes(conn(identity))).map((e) => `${e.payload.conversationId}:${e.payload.reason}`),
    /** Runs `action` once, the next time the store is about to make a `write` (between the service's read and its write). */
    onceBefore(write: ConversationWrite, action: (conversationId: string) => Promise<unknown>): void {
      let done = false;
      store.beforeWrite = async (w, conversationId) => {
        if (done || w !== write) return;
        done = true;
        await action(conversationId);
      };
    },
    /** The next `write` commits, then its answer is lost: the caller gets `error`. */
    failAfterCommit(write: ConversationWrite, error: Error): void {
      let done = false;
      store.afterWrite = async (w) => {
        if (done || w !== write) return;
        done = true;
        throw error;
      };
    },
  };
}

export type ConversationHarness = ReturnType<typeof conversationHarness>;

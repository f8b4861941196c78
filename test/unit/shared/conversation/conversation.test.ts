import type { Identity } from '../../../../shared/auth/identity';
import {
  type Conversation,
  decideIdleTimer,
  hasEnded,
  leave,
  recipientsForNewConversation,
} from '../../../../shared/conversation/conversation';
import { BadRequestError, ForbiddenError } from '../../../../shared/errors';

const IDLE = 900_000;
const conversation = (overrides: Partial<Conversation> = {}): Conversation => ({
  conversationId: 'c1',
  participants: ['sip:a@contoso.com', 'sip:b@contoso.com', 'sip:c@contoso.com'],
  active: ['sip:a@contoso.com', 'sip:b@contoso.com', 'sip:c@contoso.com'],
  status: 'active',
  createdAt: 0,
  lastActivityAt: 1_000,
  timerVersion: 1,
  version: 1,
  ...overrides,
});
const alice: Identity = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' };

describe('conversation idle rule: it ends after CONVERSATION_IDLE_SECONDS without activity', () => {
  test('the timer ends a conversation idle for the whole period', () => {
    expect(decideIdleTimer(conversation(), 1, 1_000 + IDLE, IDLE)).toEqual({ kind: 'end' });
  });

  test('recent activity re-arms the timer at the new deadline with the next version (lazy re-arm)', () => {
    expect(decideIdleTimer(conversation({ lastActivityAt: 5_000 }), 1, 1_000 + IDLE, IDLE)).toEqual({ kind: 'rearm', at: 5_000 + IDLE, version: 2 });
  });

  test('a stale firing (another version) is ignored', () => {
    expect(decideIdleTimer(conversation({ timerVersion: 3 }), 2, 10 * IDLE, IDLE)).toEqual({ kind: 'ignore', why: 'staleTimer' });
  });

  test('a firing on an ended conversation is ignored', () => {
    expect(decideIdleTimer(conversation({ status: 'ended' }), 1, 10 * IDLE, IDLE)).toEqual({ kind: 'ignore', why: 'ended' });
  });

  test('a conversation past its deadline has ended even before its timer fires', () => {
    expect(hasEnded(conversation(), 1_000 + IDLE - 1, IDLE)).toBe(false);
    expect(hasEnded(conversation(), 1_000 + IDLE, IDLE)).toBe(true);
    expect(hasEnded(conversation({ status: 'ended' }), 0, IDLE)).toBe(true);
  });
});

describe('conversation leave rule: it ends when fewer than two remain', () => {
  test('one of three leaving keeps it going', () => {
    expect(leave(conversation(), 'sip:c@contoso.com')).toEqual({ active: ['sip:a@contoso.com', 'sip:b@contoso.com'], ends: false });
  });

  test('one of two leaving ends it', () => {
    expect(leave(conversation({ active: ['sip:a@contoso.com', 'sip:b@contoso.com'] }), 'sip:a@contoso.com')).toEqual({
      active: ['sip:b@contoso.com'],
      ends: true,
    });
  });
});

describe('who may open a conversation', () => {
  test('anonymous and PSTN users may not', () => {
    expect(() => recipientsForNewConversation({ ...alice, kind: 'anonymous' }, 'sip:b@contoso.com')).toThrow(ForbiddenError);
    expect(() => recipientsForNewConversation({ ...alice, kind: 'pstn' }, 'sip:b@contoso.com')).toThrow(ForbiddenError);
  });

  test('enterprise, federated and application users may; recipients are lowercased and deduplicated, the sender dropped', () => {
    for (const kind of ['enterprise', 'federated', 'application'] as const) {
      expect(recipientsForNewConversation({ ...alice, kind }, ['sip:Bob@contoso.com', 'sip:bob@contoso.com', alice.uri])).toEqual(['sip:bob@contoso.com']);
    }
  });

  test('a conversation with nobody else is refused', () => {
    expect(() => recipientsForNewConversation(alice, alice.uri)).toThrow(BadRequestError);
  });
});

import type { ChatMessage, ImMessage } from '../../../client/src';
import {
  connectionLabel,
  hasPresenceControl,
  imNotice,
  lobbyNotice,
  mentionNotice,
  ownDotAvailability,
  pageTitle,
  presenceChoiceFrom,
  tabIndexAfterKey,
  tabsFor,
} from '../../../web/src/shell';

/** The web app's shell (issue 23 items 2, 3, 5, 8, 9): its rules, without a browser (the journeys: test/e2e/web-shell.test.ts). */
describe('web shell rules', () => {
  const ME = 'sip:alice@contoso.com';
  const BOB = { uri: 'sip:bob@contoso.com', name: 'Bob' };

  test('a guest (anonymous) is offered only Meetings and no presence of their own; everyone else every view', () => {
    expect(tabsFor('anonymous').map((entry) => entry.tab)).toEqual(['meetings']);
    expect(hasPresenceControl('anonymous')).toBe(false);
    for (const kind of ['enterprise', 'federated', 'admin'] as const) {
      expect(tabsFor(kind).map((entry) => entry.tab)).toEqual(['rooms', 'contacts', 'im', 'meetings']);
      expect(hasPresenceControl(kind)).toBe(true);
    }
  });

  test('the tab strip keys: Left and Right wrap around, Home and End go to the ends, other keys do nothing', () => {
    expect(tabIndexAfterKey('ArrowRight', 0, 4)).toBe(1);
    expect(tabIndexAfterKey('ArrowRight', 3, 4)).toBe(0);
    expect(tabIndexAfterKey('ArrowLeft', 0, 4)).toBe(3);
    expect(tabIndexAfterKey('ArrowLeft', 2, 4)).toBe(1);
    expect(tabIndexAfterKey('Home', 2, 4)).toBe(0);
    expect(tabIndexAfterKey('End', 0, 4)).toBe(3);
    expect(tabIndexAfterKey('Enter', 0, 4)).toBeUndefined();
    expect(tabIndexAfterKey('ArrowRight', 0, 1)).toBe(0);
  });

  test('the page title counts what is unread', () => {
    expect(pageTitle(0)).toBe('UC web');
    expect(pageTitle(3)).toBe('(3) UC web');
  });

  test('the connection pill says the reconnect attempt', () => {
    expect(connectionLabel('open', undefined)).toBe('Connected');
    expect(connectionLabel('reconnecting', 3)).toBe('Reconnecting… (attempt 3)');
    expect(connectionLabel('reconnecting', undefined)).toBe('Reconnecting…');
    expect(connectionLabel('closed', undefined)).toBe('Disconnected');
  });

  test('own presence after a reload: any availability but Available is the choice; Available is a choice only if this browser made it', () => {
    expect(presenceChoiceFrom({ availability: 'busy', note: 'in a review' }, undefined)).toBe('busy');
    expect(presenceChoiceFrom({ availability: 'busy' }, 'auto')).toBe('busy'); // chosen on another device
    expect(presenceChoiceFrom({ availability: 'offline' }, 'offline')).toBe('offline');
    expect(presenceChoiceFrom({ availability: 'online' }, 'online')).toBe('online');
    expect(presenceChoiceFrom({ availability: 'online' }, 'busy')).toBe('auto'); // reset or expired elsewhere
    expect(presenceChoiceFrom({ availability: 'online' }, undefined)).toBe('auto');
    expect(presenceChoiceFrom(undefined, 'away')).toBe('away');
    expect(presenceChoiceFrom(undefined, undefined)).toBe('auto');
  });

  test('the own dot is grey while the page is not connected, whatever was chosen', () => {
    expect(ownDotAvailability('open', { availability: 'busy' }, 'busy')).toBe('busy');
    expect(ownDotAvailability('open', undefined, 'auto')).toBe('online');
    for (const state of ['reconnecting', 'closed', 'connecting', 'idle'] as const) expect(ownDotAvailability(state, { availability: 'online' }, 'auto')).toBe('offline');
  });

  test('notifications: an IM or a mention from someone else, and a lobby knock; never the user’s own messages', () => {
    const im: ImMessage = { conversationId: 'c1', messageId: 'm1', from: BOB, text: 'Got a minute?', contentType: 'text/plain', ts: 1 };
    expect(imNotice(im, ME)).toEqual({ title: 'Bob', body: 'Got a minute?', tag: 'im:c1', tab: 'im' });
    expect(imNotice({ ...im, from: { uri: ME, name: 'Alice' } }, ME)).toBeUndefined();

    const post: ChatMessage = { roomId: 'r1', seq: 4, messageId: 'p4', from: BOB, text: '@alice@contoso.com look', ts: 1, mentions: [ME] };
    expect(mentionNotice(post, ME, 'Launch')).toEqual({ title: 'Bob mentioned you in Launch', body: '@alice@contoso.com look', tag: 'room:r1', tab: 'rooms' });
    expect(mentionNotice({ ...post, mentions: [] }, ME, 'Launch')).toBeUndefined();
    expect(mentionNotice({ ...post, from: { uri: ME, name: 'Alice' } }, ME, 'Launch')).toBeUndefined();

    expect(lobbyNotice({ confId: 'f1', uri: 'sip:gina@example.org', name: 'Gina' })).toMatchObject({ title: 'Gina is waiting in the lobby', tab: 'meetings' });
    // Someone without a name (a token that carries none): the user part of the address.
    expect(imNotice({ ...im, from: { uri: 'sip:bob@contoso.com', name: 'sip:bob@contoso.com' } }, ME)?.title).toBe('bob');
    expect(lobbyNotice({ confId: 'f1', uri: 'sip:gina@example.org', name: '' }).title).toBe('gina is waiting in the lobby');
  });
});

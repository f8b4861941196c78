import type { Availability, ChatMessage, ConnectionState, IdentityKind, ImMessage, Presence } from '../../client/src';
import { shortName } from './addresses';

/** The shell's rules, apart from its components so they are tested without a browser (test/unit/web/shell.test.ts). */

export type Tab = 'rooms' | 'contacts' | 'im' | 'meetings';
export type PresenceChoice = Availability | 'auto';

export const TABS: ReadonlyArray<{ tab: Tab; label: string }> = [
  { tab: 'rooms', label: 'Rooms' },
  { tab: 'contacts', label: 'Contacts' },
  { tab: 'im', label: 'IM' },
  { tab: 'meetings', label: 'Meetings' },
];

/** What a kind of user is offered: a guest (anonymous) only the meeting they came for (rooms, IM, contacts answer 403). */
export function tabsFor(kind: IdentityKind): ReadonlyArray<{ tab: Tab; label: string }> {
  return kind === 'anonymous' ? TABS.filter((entry) => entry.tab === 'meetings') : TABS;
}

/** Whether a kind of user has a presence of their own to set (a guest's `presence.publish` is of no use to anyone). */
export function hasPresenceControl(kind: IdentityKind): boolean {
  return kind !== 'anonymous';
}

/** The connection pill's words. */
export function connectionLabel(state: ConnectionState, attempt: number | undefined): string {
  switch (state) {
    case 'idle':
      return 'Not connected';
    case 'connecting':
      return 'Connecting…';
    case 'open':
      return 'Connected';
    case 'reconnecting':
      return attempt ? `Reconnecting… (attempt ${attempt})` : 'Reconnecting…';
    case 'closed':
      return 'Disconnected';
  }
}

/**
 * The tab a key moves the focus to in a tablist (WAI-ARIA tabs: Left and Right wrap around, Home and End go to the
 * ends); undefined for any other key.
 */
export function tabIndexAfterKey(key: string, index: number, count: number): number | undefined {
  switch (key) {
    case 'ArrowRight':
      return (index + 1) % count;
    case 'ArrowLeft':
      return (index - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return undefined;
  }
}

/** "(3) UC web" while anything is unread, else "UC web". */
export function pageTitle(unread: number): string {
  return unread > 0 ? `(${unread}) UC web` : 'UC web';
}

/**
 * The presence choice to show for the user's own presence as the server aggregates it (its explicit state and note
 * persist, docs/protocol.md "Persistent presence"). The aggregate does not say whether "Available" was chosen or is
 * the automatic state, so the choice this browser last made decides that; any other availability is a choice (made
 * here or on another device). Nothing from the server yet: what this browser last chose.
 */
export function presenceChoiceFrom(own: Presence | undefined, remembered: PresenceChoice | undefined): PresenceChoice {
  if (!own) return remembered ?? 'auto';
  if (own.availability === 'online') return remembered === 'online' ? 'online' : 'auto';
  return own.availability;
}

/** The dot next to the user's own presence: grey (offline) whenever this page is not connected, whatever was chosen. */
export function ownDotAvailability(connection: ConnectionState, own: Presence | undefined, choice: PresenceChoice): Availability {
  if (connection !== 'open') return 'offline';
  return own?.availability ?? (choice === 'auto' ? 'online' : choice);
}

/** A browser notification: what it says, a tag (a newer one of the same thing replaces it) and the tab it opens. */
export interface Notice {
  readonly title: string;
  readonly body: string;
  readonly tag: string;
  readonly tab: Tab;
}

/** A person's name for a notification: their name, or the user part of their address when they have none. */
export function displayName(person: { uri: string; name?: string }): string {
  return person.name && person.name !== person.uri ? person.name : shortName(person.uri);
}

/** A notification for an IM from someone else; none for the user's own (from another device). */
export function imNotice(message: ImMessage, me: string): Notice | undefined {
  if (message.from.uri === me || message.retracted) return undefined;
  return { title: displayName(message.from), body: message.text.slice(0, 200), tag: `im:${message.conversationId}`, tab: 'im' };
}

/** A notification for a room message that mentions the user (not one they posted themselves). */
export function mentionNotice(message: ChatMessage, me: string, roomName: string | undefined): Notice | undefined {
  if (message.from.uri === me || message.retracted || !message.mentions?.includes(me)) return undefined;
  const where = roomName ? ` in ${roomName}` : '';
  return { title: `${displayName(message.from)} mentioned you${where}`, body: message.text.slice(0, 200), tag: `room:${message.roomId}`, tab: 'rooms' };
}

/** A notification for someone waiting in a meeting's lobby (sent to its presenters). */
export function lobbyNotice(event: { confId: string; uri: string; name: string }): Notice {
  return { title: `${displayName(event)} is waiting in the lobby`, body: 'Open Meetings to let them in.', tag: `lobby:${event.confId}:${event.uri}`, tab: 'meetings' };
}

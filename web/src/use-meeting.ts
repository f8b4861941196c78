import { useEffect, useRef, useState } from 'preact/hooks';
import { type ConferenceRole, type DeactivationReason, type IdentityKind, type RosterEntry, type UcClient, UcError } from '../../client/src';
import { useAction, useClientEvent } from './ui';

type Action = ReturnType<typeof useAction>;

/**
 * The meeting a user is in, as state: joining, lobby, roster, lock, and why it ended, kept current by the
 * conference events; and the actions on it (join, admit or deny, lock, end, leave). The view is meetings.tsx.
 */

export interface Waiting {
  readonly uri: string;
  readonly name: string;
  readonly kind: IdentityKind;
}

export interface Meeting {
  readonly confId: string;
  readonly status: 'joining' | 'lobby' | 'joined' | 'denied' | 'deactivated' | 'left' | 'ejected';
  /** `conf.ejected`: the presenter who removed me. */
  readonly ejectedBy?: string;
  readonly subject?: string;
  readonly role?: ConferenceRole;
  readonly roster: readonly RosterEntry[];
  readonly lobby: readonly Waiting[];
  readonly locked: boolean;
  readonly reason?: DeactivationReason;
  /** In the lobby: whether a presenter is in the meeting to let me in (`conf.lobbyWait`); false: none is, for now. */
  readonly presenterPresent?: boolean;
  /** `left` from the lobby (Cancel) rather than from the meeting. */
  readonly leftLobby?: boolean;
  /**
   * Counts the times this connection got into the meeting (join, admit, rejoin after a reconnect): the chat and
   * the shared content read again when it changes, for what was said while the link was down.
   */
  readonly entries: number;
}

/**
 * The meeting this tab is in or waiting for, kept per tab (sessionStorage, as the signed-in user is) and per
 * user, so that a reload takes the person back in: `conf.join` again, through the lobby when the admission rules
 * say so. Sign-out forgets it (session.ts), so the next person in the tab is not taken into it.
 */
export const CURRENT_MEETING_KEY_PREFIX = 'uc.meeting.';
const currentMeetingKey = (me: string) => `${CURRENT_MEETING_KEY_PREFIX}${me}`;

interface RememberedMeeting {
  readonly confId: string;
  readonly status: 'joined' | 'lobby';
}

export function remembered(me: string): RememberedMeeting | undefined {
  try {
    const value = JSON.parse(window.sessionStorage.getItem(currentMeetingKey(me)) ?? 'null') as Partial<RememberedMeeting> | null;
    return typeof value?.confId === 'string' && (value.status === 'joined' || value.status === 'lobby') ? { confId: value.confId, status: value.status } : undefined;
  } catch {
    return undefined;
  }
}

function remember(me: string, meeting: Meeting | undefined): void {
  if (!meeting || meeting.status === 'joining') return;
  if (meeting.status === 'joined' || meeting.status === 'lobby') window.sessionStorage.setItem(currentMeetingKey(me), JSON.stringify({ confId: meeting.confId, status: meeting.status }));
  else window.sessionStorage.removeItem(currentMeetingKey(me));
}

/** A conference id from an id or a join link (`https://meet.contoso.com/alice/{confId}`). */
export function confIdOf(input: string): string {
  const trimmed = input.trim();
  if (!trimmed.includes('/')) return trimmed;
  const path = trimmed.split(/[?#]/)[0]!.replace(/\/+$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

export interface MeetingState {
  readonly meeting: Meeting | undefined;
  /** Joining (its error shows by the join form). */
  readonly join: Action;
  /** Everything done in the meeting (its error shows in the meeting view). */
  readonly act: Action;
  joinMeeting(input: string): Promise<boolean>;
  /** After a reload: back into the meeting this tab was in (or the lobby it waited in), unless it has ended meanwhile. */
  resumeMeeting(): Promise<boolean>;
  /** Leaves the lobby (`conf.leave`): the presenters no longer see me waiting. */
  cancelWait(): Promise<boolean>;
  decide(uri: string, decision: 'conf.admit' | 'conf.deny'): Promise<boolean>;
  setLocked(locked: boolean): Promise<boolean>;
  endMeeting(): Promise<boolean>;
  leaveMeeting(): Promise<boolean>;
  /** Presenters: removes a participant (`conf.eject`); they go through admission to come back. */
  eject(uri: string): Promise<boolean>;
  /** Presenters: promotes or demotes a participant (`conf.role`). */
  setRole(uri: string, role: ConferenceRole): Promise<boolean>;
}

export function useMeeting(client: UcClient, me: string, onActivity: () => void): MeetingState {
  const [meeting, setMeeting] = useState<Meeting>();
  const join = useAction();
  const act = useAction();
  // Each join counts here: the answer of a leave sent before a later join must not take that join back out.
  const joins = useRef(0);

  const mine = (confId: string) => meeting !== undefined && meeting.confId === confId;
  const change = (confId: string, update: (current: Meeting) => Meeting) => setMeeting((current) => (current && current.confId === confId ? update(current) : current));

  /** Subject, lock and (for participants) the roster, from `conf.get`. */
  const refresh = async (confId: string) => {
    const details = await client.request('conf.get', { confId });
    change(confId, (current) => ({
      ...current,
      subject: details.subject,
      locked: details.active?.locked ?? false,
      ...(details.roster ? { roster: details.roster } : {}),
    }));
  };

  useEffect(() => remember(me, meeting), [meeting?.confId, meeting?.status]);

  const joinMeeting = (input: string) =>
    join.run(async () => {
      const confId = confIdOf(input);
      if (!confId) throw new Error('Enter the meeting ID or paste its join link.');
      const inOther = meeting && (meeting.status === 'joined' || meeting.status === 'lobby') && meeting.confId !== confId;
      if (inOther) await client.request('conf.leave', { confId: meeting.confId }).catch(() => undefined);
      joins.current += 1;
      setMeeting({ confId, status: 'joining', roster: [], lobby: [], locked: false, entries: 0 });
      try {
        const answer = await client.request('conf.join', { confId });
        if (answer.state === 'lobby') {
          change(confId, (current) => (current.status === 'joining' ? { ...current, status: 'lobby' } : current));
          // The subject, for whoever waits (anyone with the id may read it; the roster only once in).
          await refresh(confId).catch(() => undefined);
          return;
        }
        change(confId, (current) => ({ ...current, status: 'joined', role: answer.role, roster: mergeRoster(current.roster, answer.roster), entries: current.entries + 1 }));
        await refresh(confId);
      } catch (error) {
        setMeeting((current) => (current?.confId === confId && current.status === 'joining' ? undefined : current));
        throw error;
      }
    });

  const resumeMeeting = () =>
    join.run(async () => {
      const last = remembered(me);
      if (!last) return;
      // An ended meeting is not started again by a reload: it says so, and "Join again" is one click away.
      const details = await client.request('conf.get', { confId: last.confId }).catch((error: unknown) => {
        window.sessionStorage.removeItem(currentMeetingKey(me));
        throw error;
      });
      if (details.state !== 'active' && last.status === 'joined') {
        setMeeting({ confId: last.confId, status: 'deactivated', subject: details.subject, roster: [], lobby: [], locked: false, entries: 0, ...(details.lastDeactivationReason ? { reason: details.lastDeactivationReason } : {}) });
        return;
      }
      await joinMeeting(last.confId);
    });

  // A new connection after an outage is a new endpoint: the old one left the meeting (or the lobby) with it, so join again.
  const wasDown = useRef(false);
  useClientEvent(client, 'state', (event) => {
    if (event.state === 'reconnecting') wasDown.current = true;
    if (event.state !== 'open' || !wasDown.current) return;
    wasDown.current = false;
    if (meeting && (meeting.status === 'joined' || meeting.status === 'lobby')) void rejoin(meeting.confId);
  });
  // While a rejoin is under way, `conf.lobbyWait` (sent before the join's answer) is mine even though I show as joined.
  const rejoining = useRef<string | undefined>(undefined);
  const rejoin = (confId: string) =>
    act.run(async () => {
      // A meeting that ended while the link was down is not started again by the reconnect (as after a reload).
      const details = await client.request('conf.get', { confId });
      if (details.state !== 'active' && meeting?.status === 'joined') {
        change(confId, (current) => ({ ...current, status: 'deactivated', roster: [], lobby: [], ...(details.lastDeactivationReason ? { reason: details.lastDeactivationReason } : {}) }));
        return;
      }
      // Who waits is told again (`conf.lobby`) to the new connection: the old list may hold people who left meanwhile.
      change(confId, (current) => ({ ...current, lobby: [] }));
      rejoining.current = confId;
      const entriesBefore = meeting?.entries ?? 0;
      try {
        const answer = await client.request('conf.join', { confId });
        if (answer.state === 'lobby') {
          // Unless a presenter let me in before this answer came (conf.admitted counted an entry): then I am in.
          change(confId, (current) => (current.entries === entriesBefore ? { ...current, status: 'lobby', roster: [], lobby: [] } : current));
          return;
        }
        change(confId, (current) => ({ ...current, status: 'joined', role: answer.role, roster: mergeRoster(current.roster, answer.roster), entries: current.entries + 1 }));
      } finally {
        rejoining.current = undefined;
      }
      await refresh(confId);
    });

  const cancelWait = () =>
    act.run(async () => {
      if (!meeting || meeting.status !== 'lobby') return;
      const confId = meeting.confId;
      const joinsBefore = joins.current;
      const answer = await client.request('conf.leave', { confId });
      if (joins.current !== joinsBefore) return;
      // Admitted just before the leave landed: the leave took me out of the meeting too, so I am out either way.
      change(confId, (current) =>
        current.status === 'lobby' ? { ...current, status: 'left', leftLobby: true } : current.status === 'joined' && answer.left ? { ...current, status: 'left', roster: [], lobby: [] } : current,
      );
    });

  useClientEvent(client, 'conf.roster', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({
      ...current,
      roster: event.change === 'left' ? current.roster.filter((entry) => entry.uri !== event.participant.uri) : mergeRoster(current.roster, [event.participant]),
      // Promoted or demoted: my own controls follow the new role; the lobby list starts again (a presenter is told
      // who waits, `conf.lobby`, and an attendee is not kept up to date about it).
      ...(event.change === 'role' && event.participant.uri === me && event.participant.role !== current.role ? { role: event.participant.role, lobby: [] } : {}),
    }));
  });
  // A presenter removed me: out of the meeting, told by whom; joining again goes through admission.
  useClientEvent(client, 'conf.ejected', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({ ...current, status: 'ejected', ejectedBy: event.by, roster: [], lobby: [] }));
    onActivity();
  });
  useClientEvent(client, 'conf.lobby', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) =>
      current.lobby.some((waiting) => waiting.uri === event.uri) ? current : { ...current, lobby: [...current.lobby, { uri: event.uri, name: event.name, kind: event.kind }] },
    );
    onActivity();
  });
  // Someone stopped waiting on their own (left the lobby, or their connection went): off my lobby list.
  useClientEvent(client, 'conf.lobbyLeft', (event) => change(event.confId, (current) => ({ ...current, lobby: current.lobby.filter((waiting) => waiting.uri !== event.uri) })));
  // Waiting: told at once, and again when it changes, whether a presenter is in to let me in.
  useClientEvent(client, 'conf.lobbyWait', (event) =>
    change(event.confId, (current) =>
      current.status === 'joining' || current.status === 'lobby' || rejoining.current === event.confId ? { ...current, status: 'lobby', presenterPresent: event.presenterPresent } : current,
    ),
  );
  // My wait ended without a presenter deciding: I left the lobby (here, or from another tab of mine).
  useClientEvent(client, 'conf.waitEnded', (event) =>
    change(event.confId, (current) => (current.status === 'lobby' ? { ...current, status: 'left', leftLobby: true } : current)),
  );
  useClientEvent(client, 'conf.admitted', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({ ...current, status: 'joined', role: event.role, entries: current.entries + 1 }));
    void act.run(() => refresh(event.confId));
    onActivity();
  });
  useClientEvent(client, 'conf.denied', (event) => {
    change(event.confId, (current) => ({ ...current, status: 'denied' }));
    onActivity();
  });
  useClientEvent(client, 'conf.updated', (event) => change(event.confId, (current) => ({ ...current, locked: event.locked })));
  useClientEvent(client, 'conf.deactivated', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({ ...current, status: 'deactivated', reason: event.reason, lobby: [], roster: [] }));
    onActivity();
  });

  const decide = (uri: string, decision: 'conf.admit' | 'conf.deny') =>
    act.run(async () => {
      if (!meeting) return;
      const confId = meeting.confId;
      const offTheList = () => change(confId, (current) => ({ ...current, lobby: current.lobby.filter((waiting) => waiting.uri !== uri) }));
      try {
        await client.request(decision, { confId, uri });
      } catch (error) {
        // No longer waiting (another presenter decided, or they left): off the list. Any other failure (a lost
        // link, a time-out) leaves them on it, since they still wait.
        if (error instanceof UcError && error.status === 404) offTheList();
        throw error;
      }
      offTheList();
    });

  const setLocked = (locked: boolean) =>
    act.run(async () => {
      if (!meeting) return;
      const answer = await client.request('conf.update', { confId: meeting.confId, locked });
      change(meeting.confId, (current) => ({ ...current, locked: answer.locked }));
    });

  const endMeeting = () =>
    act.run(async () => {
      if (meeting) await client.request('conf.end', { confId: meeting.confId });
    });

  const leaveMeeting = () =>
    act.run(async () => {
      if (!meeting) return;
      const confId = meeting.confId;
      await client.request('conf.leave', { confId });
      change(confId, (current) => (current.status === 'deactivated' ? current : { ...current, status: 'left', roster: [], lobby: [] }));
    });

  const eject = (uri: string) =>
    act.run(async () => {
      if (!meeting) return;
      const confId = meeting.confId;
      await client.request('conf.eject', { confId, uri });
      change(confId, (current) => ({ ...current, roster: current.roster.filter((entry) => entry.uri !== uri) }));
    });

  const setRole = (uri: string, role: ConferenceRole) =>
    act.run(async () => {
      if (!meeting) return;
      const confId = meeting.confId;
      const answer = await client.request('conf.role', { confId, uri, role });
      change(confId, (current) => ({
        ...current,
        roster: current.roster.map((entry) => (entry.uri === uri ? { ...entry, role: answer.role } : entry)),
        ...(uri === me ? { role: answer.role } : {}),
      }));
    });

  return { meeting, join, act, joinMeeting, resumeMeeting, cancelWait, decide, setLocked, endMeeting, leaveMeeting, eject, setRole };
}

function mergeRoster(roster: readonly RosterEntry[], joined: readonly RosterEntry[]): RosterEntry[] {
  const byUri = new Map(roster.map((entry) => [entry.uri, entry]));
  for (const entry of joined) byUri.set(entry.uri, entry);
  return [...byUri.values()];
}

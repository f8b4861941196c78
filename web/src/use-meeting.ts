import { useState } from 'preact/hooks';
import type { ConferenceRole, DeactivationReason, IdentityKind, RosterEntry, UcClient } from '../../client/src';
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

  const joinMeeting = (input: string) =>
    join.run(async () => {
      const confId = confIdOf(input);
      if (!confId) throw new Error('give a meeting id or its join link');
      if (meeting && meeting.status === 'joined' && meeting.confId !== confId) await client.request('conf.leave', { confId: meeting.confId }).catch(() => undefined);
      setMeeting({ confId, status: 'joining', roster: [], lobby: [], locked: false });
      try {
        const answer = await client.request('conf.join', { confId });
        if (answer.state === 'lobby') {
          change(confId, (current) => (current.status === 'joining' ? { ...current, status: 'lobby' } : current));
          return;
        }
        change(confId, (current) => ({ ...current, status: 'joined', role: answer.role, roster: mergeRoster(current.roster, answer.roster) }));
        await refresh(confId);
      } catch (error) {
        setMeeting((current) => (current?.confId === confId && current.status === 'joining' ? undefined : current));
        throw error;
      }
    });

  useClientEvent(client, 'conf.roster', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({
      ...current,
      roster: event.change === 'left' ? current.roster.filter((entry) => entry.uri !== event.participant.uri) : mergeRoster(current.roster, [event.participant]),
      // Promoted or demoted: my own controls follow the new role.
      ...(event.change === 'role' && event.participant.uri === me ? { role: event.participant.role } : {}),
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
  useClientEvent(client, 'conf.lobbyWait', (event) => change(event.confId, (current) => (current.status === 'joining' ? { ...current, status: 'lobby' } : current)));
  useClientEvent(client, 'conf.admitted', (event) => {
    if (!mine(event.confId)) return;
    change(event.confId, (current) => ({ ...current, status: 'joined', role: event.role }));
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
      try {
        await client.request(decision, { confId, uri });
      } finally {
        // Admitted, denied, or no longer waiting (another presenter decided): off the list either way.
        change(confId, (current) => ({ ...current, lobby: current.lobby.filter((waiting) => waiting.uri !== uri) }));
      }
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

  return { meeting, join, act, joinMeeting, decide, setLocked, endMeeting, leaveMeeting, eject, setRole };
}

function mergeRoster(roster: readonly RosterEntry[], joined: readonly RosterEntry[]): RosterEntry[] {
  const byUri = new Map(roster.map((entry) => [entry.uri, entry]));
  for (const entry of joined) byUri.set(entry.uri, entry);
  return [...byUri.values()];
}

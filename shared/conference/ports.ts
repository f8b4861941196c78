import type { ComplianceEvent } from '../compliance/event';
import type { PageFit } from '../protocol/frame-fit';
import type { Conference, LobbyEntry, Participant, Role } from './conference';

export interface ConferenceContent {
  readonly contentId: string;
  readonly title: string;
  readonly kind: 'link' | 'document';
  /** A link's address, or a small document's text. */
  readonly body: string;
  readonly addedBy: string;
  readonly addedAt: number;
}

/** A meeting IM message (SPEC §9 `conf.message`): it belongs to one activation, and a new activation starts empty. */
export interface ConferenceMessage {
  readonly confId: string;
  readonly activationInstance: string;
  readonly messageId: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly text: string;
  readonly ts: number;
}

/** What a `conf.message` answered, kept with the client's id so a retry gets the same answer (SPEC §2). */
export interface MessageResult {
  readonly confId: string;
  readonly activationInstance: string;
  readonly messageId: string;
  readonly ts: number;
}

/** `lost`: the sender's participant record is not the stay read (left, ejected, rejoined) or a write raced it: read again. */
export type PostOutcome = { readonly kind: 'posted' } | { readonly kind: 'lost' } | { readonly kind: 'replayed'; readonly result: MessageResult };

export interface MessagePage {
  readonly messages: ConferenceMessage[];
  readonly cursor?: string;
}

export interface ScheduleResult {
  readonly confId: string;
  readonly joinUrl: string;
}

/** What a user is to a meeting in their list (`conf.list`): its organizer, a scheduled presenter, or an invitee. */
export type MeetingRole = 'organizer' | 'presenter' | 'invitee';

/** One entry of a user's meeting index (`MYCONF#{uri}`), newest first by when the meeting was scheduled. */
export interface MeetingIndexEntry {
  readonly confId: string;
  readonly role: MeetingRole;
  readonly scheduledAt: number;
}

export interface MeetingIndexPage {
  readonly entries: MeetingIndexEntry[];
  /** The key of the last entry read, when more may follow (`meetingsOf`'s `after`). */
  readonly next?: string;
}

/** `notActive`: not that activation (or, with `unlocked`, locked meanwhile); `notWaiting`: the lobby wait admitted from has ended. */
export type AddOutcome = 'added' | 'alreadyIn' | 'notActive' | 'notWaiting';

/**
 * What an entry was decided on, checked again by the write (a lock or a deny may land between the read and the write):
 * `unlocked`, the conference is still unlocked (a newcomer's join); `fromLobby`, that lobby wait is still there (`since`).
 */
export interface EntryConditions {
  readonly unlocked?: boolean;
  readonly fromLobby?: Pick<LobbyEntry, 'uri' | 'since'>;
}

/**
 * Conferences in the store. Lifecycle changes (`activate`, `commit`) replace the conference only if its
 * `stateVersion` is still the one read (optimistic concurrency: false means re-read and decide again).
 * Joins and leaves do not conflict with each other: they move counters atomically, on the condition
 * that the same activation is still active, and bump `stateVersion` so a lifecycle decision made on an
 * older read fails and is made again.
 *
 * Every write that is a compliance event (a join, a leave, a deactivation's removals) writes that event to the
 * compliance outbox in the same transaction (SPEC §7): the queue send after it is an optimisation.
 */
export interface ConferenceStore {
  get(confId: string): Promise<Conference | undefined>;
  /**
   * Creates a conference, once per client id. With `staticSpace`, it becomes the organizer's static meeting space
   * (replacing the space `replacing`, or the first one); when another request changed the space first, answers that space.
   */
  schedule(conference: Conference, result: ScheduleResult, clientKey?: string, staticSpace?: { readonly replacing?: string }): Promise<ScheduleResult>;
  /** The answer a `conf.schedule` with this client id got, if any. */
  scheduled(organizer: string, clientKey: string): Promise<ScheduleResult | undefined>;
  /** The organizer's static meeting space, if one was ever created. */
  staticSpace(organizer: string): Promise<ScheduleResult | undefined>;
  /** Replaces the conference; `events` (a deactivation's leaves) go to the compliance outbox with it. */
  commit(next: Conference, seenVersion: number, events?: readonly ComplianceEvent[]): Promise<boolean>;
  /** Activates (`next` holds the new activation with its first participant) and enters that participant; false when `fromLobby` ended. */
  activate(next: Conference, seenVersion: number, participant: Participant, connectionId: string, joinEvent: ComplianceEvent, conditions?: Pick<EntryConditions, 'fromLobby'>): Promise<boolean>;
  /** Enters a participant of the active `activationInstance` (also removing a lobby entry), on `conditions`. */
  addParticipant(confId: string, participant: Participant, connectionId: string, enterprise: boolean, joinEvent: ComplianceEvent, conditions?: EntryConditions): Promise<AddOutcome>;
  /** Adds another endpoint of a participant already in. */
  addConnection(confId: string, participant: Participant, connectionId: string, joinEvent: ComplianceEvent): Promise<boolean>;
  /**
   * Removes a participant of the active `activationInstance` with the endpoints and stay read (`joinedAt`); false if
   * not in, another endpoint was added since, or they left and came back since (that stay is not the one read).
   */
  removeParticipant(confId: string, participant: Participant, enterprise: boolean, now: number, leaveEvent: ComplianceEvent): Promise<boolean>;
  /**
   * Sets the role of the participant read, if that stay (same activation, same `joinedAt`) is still in; false when
   * they left, were ejected or rejoined since (the caller reads again).
   */
  setRole(confId: string, participant: Participant, role: Role): Promise<boolean>;
  /**
   * Stores a meeting IM message of the sender's stay read (`sender`: same activation and `joinedAt`, still in), with
   * its answer under the client's id (`clientMsgId`, once) and its compliance event in the outbox, in one transaction.
   */
  postMessage(message: ConferenceMessage, result: MessageResult, sender: Pick<Participant, 'uri' | 'activationInstance' | 'joinedAt'>, complianceEvent: ComplianceEvent, clientMsgId?: string): Promise<PostOutcome>;
  /** The answer an earlier `conf.message` of this user with this client id got, if any. */
  replayMessage(uri: string, clientMsgId: string): Promise<MessageResult | undefined>;
  /** An activation's meeting IM, newest first, `limit` at most and cut by `fit`; `before`: the cursor of the previous page. */
  messages(confId: string, activationInstance: string, limit: number, before?: string, fit?: PageFit<ConferenceMessage>): Promise<MessagePage>;
  /** Removes one endpoint of a participant who stays in on others; false when the endpoints changed since the read. */
  removeConnection(confId: string, participant: Participant, connectionId: string): Promise<boolean>;
  participants(confId: string, activationInstance: string): Promise<Participant[]>;
  participant(confId: string, uri: string): Promise<Participant | undefined>;
  putLobby(confId: string, entry: LobbyEntry): Promise<void>;
  /** Ends that lobby wait (same `since`) and its link; false when it already ended (admitted, denied, or waiting anew). */
  deleteLobby(confId: string, entry: LobbyEntry): Promise<boolean>;
  lobby(confId: string): Promise<LobbyEntry[]>;
  lobbyEntry(confId: string, uri: string): Promise<LobbyEntry | undefined>;
  /** The conferences a connection is in or waits for, for `$disconnect`. */
  conferencesOfConnection(connectionId: string): Promise<string[]>;
  /** The conferences a user organizes, for the deletion of the user's account. */
  conferencesOfOrganizer(uri: string): Promise<string[]>;
  /**
   * Indexes a scheduled conference under its invitees and scheduled presenters (`conf.list`); the organizer's entry is
   * written by `schedule` itself, in its transaction. Idempotent: a retry writes the same items.
   */
  indexInvitees(conference: Conference): Promise<void>;
  /** One page of a user's meeting index, newest first, at most `limit`; `after` is the `next` of the previous page. */
  meetingsOf(uri: string, limit: number, after?: string): Promise<MeetingIndexPage>;
  /** Many conferences at once (consistent); one that does not exist is absent. */
  getMany(confIds: readonly string[]): Promise<Map<string, Conference>>;
  /** Removes a user's index entries (of conferences deleted or expired: lazy clean-up). */
  unindexMeetings(uri: string, entries: readonly MeetingIndexEntry[]): Promise<void>;
  addContent(confId: string, content: ConferenceContent): Promise<void>;
  content(confId: string): Promise<ConferenceContent[]>;
  /** Deletes every content item. */
  purgeContent(confId: string): Promise<void>;
  /**
   * Best-effort cleanup of an ended activation's participant, lobby and link items and its meeting IM (reads ignore them anyway).
   * Each delete is conditional on the item still being that activation's (or that lobby wait's): a rejoin that
   * raced the deactivation keeps its records.
   */
  clearActivation(confId: string, activationInstance: string, participants: readonly Participant[], lobby: readonly LobbyEntry[]): Promise<void>;
}

import type { Identity } from '../auth/identity';
import type { TimerFiring } from '../ports';
import { Admission, type JoinResult } from './admission';
import type { AutomaticRule, Role } from './conference';
import { Content } from './content';
import { ConferenceContext, type ConferenceDependencies } from './context';
import { Lifecycle, type TimerOutcome } from './lifecycle';
import { type MessageCommand, MeetingIm } from './meeting-im';
import { Moderation } from './moderation';
import { MeetingList, type MeetingListPage } from './meeting-list';
import { Participation } from './participation';
import type { ConferenceContent, MessageResult, ScheduleResult } from './ports';
import { RuleTimers } from './rule-timers';
import { type ScheduleCommand, Scheduling, type UpdateCommand } from './scheduling';

export type { ConferenceDependencies } from './context';
export type { JoinResult } from './admission';
export type { ScheduleCommand, UpdateCommand } from './scheduling';
export type { RosterEntry } from './conference';
export { CONTENT_PURGE_RULE, EXPIRY_RULE } from './rule-timers';

/**
 * The Focus: admission, roster, and the lifecycle of SPEC §4 over the ports. One entry point for the handlers
 * (functions/conference.ts, the timer and `$disconnect` functions), composed of its parts along their seams:
 * - scheduling.ts: the definition (schedule, the static meeting space, get, update);
 * - admission.ts: join, the lobby (admit, deny), leave, `$disconnect`;
 * - participation.ts: entering and leaving an activation (counters, rule timers around the write, ghosts);
 * - lifecycle.ts + rule-timers.ts: manual and automatic deactivation, content purge and expiry, their timers;
 * - meeting-list.ts: `conf.list` and join links (SPEC §9);
 * - content.ts: meeting content (and its `conf.content` event);
 * - moderation.ts: a presenter's eject and role change (SPEC §9);
 * - meeting-im.ts: meeting IM of the current activation (SPEC §9);
 * - context.ts: the ports, the shared reads and checks, compliance events.
 */
export class ConferenceService {
  private readonly scheduling: Scheduling;
  private readonly admission: Admission;
  private readonly lifecycle: Lifecycle;
  private readonly content: Content;
  private readonly meetingList: MeetingList;
  private readonly moderation: Moderation;
  private readonly meetingIm: MeetingIm;

  constructor(deps: ConferenceDependencies) {
    const ctx = new ConferenceContext(deps);
    const timers = new RuleTimers(deps);
    const participation = new Participation(ctx, timers);
    this.lifecycle = new Lifecycle(ctx, participation, timers);
    this.admission = new Admission(ctx, participation, timers);
    this.scheduling = new Scheduling(ctx, participation, this.lifecycle);
    this.content = new Content(ctx);
    this.meetingList = new MeetingList(ctx);
    this.moderation = new Moderation(ctx, participation);
    this.meetingIm = new MeetingIm(ctx);
  }

  schedule(organizer: Identity, command: ScheduleCommand): Promise<ScheduleResult> {
    return this.scheduling.schedule(organizer, command);
  }

  /** `conf.list` (SPEC §9): the meetings the caller organizes or is invited to, newest first, a page at a time. */
  list(caller: Identity, limit: number, cursor?: string): Promise<MeetingListPage> {
    return this.meetingList.list(caller, limit, cursor);
  }

  get(caller: Identity, confId: string, rosterCursor?: string): ReturnType<Scheduling['get']> {
    return this.scheduling.get(caller, confId, rosterCursor);
  }

  update(caller: Identity, confId: string, command: UpdateCommand): ReturnType<Scheduling['update']> {
    return this.scheduling.update(caller, confId, command);
  }

  join(identity: Identity, connectionId: string, confId: string): Promise<JoinResult> {
    return this.admission.join(identity, connectionId, confId);
  }

  admit(presenter: Identity, confId: string, uri: string): Promise<{ admitted: string }> {
    return this.admission.admit(presenter, confId, uri);
  }

  deny(presenter: Identity, confId: string, uri: string): Promise<{ denied: string }> {
    return this.admission.deny(presenter, confId, uri);
  }

  leave(identity: Identity, confId: string): Promise<{ left: boolean }> {
    return this.admission.leave(identity, confId);
  }

  /** `$disconnect`: the connection leaves its conferences (the user stays in while another device is in). */
  disconnected(identity: Identity, connectionId: string): Promise<void> {
    return this.admission.disconnected(identity, connectionId);
  }

  /** A presenter ends the meeting: everyone is removed at once. */
  end(caller: Identity, confId: string): Promise<{ deactivated: boolean }> {
    return this.lifecycle.end(caller, confId);
  }

  /** The organizer deletes it: deactivated at once, then deleted (410 from then on). */
  delete(caller: Identity, confId: string): Promise<{ deleted: boolean }> {
    return this.lifecycle.delete(caller, confId);
  }

  /** An administrator deletes a user's account: each conference the user organizes is deactivated and deleted. */
  deleteUser(caller: Identity, uri: string): Promise<{ conferences: number }> {
    return this.lifecycle.deleteUser(caller, uri);
  }

  /** `connectionId`: the adding connection, which has the answer and gets no `conf.content`. */
  addContent(caller: Identity, confId: string, content: Pick<ConferenceContent, 'title' | 'kind' | 'body'>, connectionId?: string): Promise<ConferenceContent> {
    return this.content.add(caller, confId, content, connectionId);
  }

  /** A presenter ejects a participant: they leave, and coming back goes through admission again. */
  eject(caller: Identity, confId: string, uri: string): Promise<{ ejected: string }> {
    return this.moderation.eject(caller, confId, uri);
  }

  /** A presenter promotes or demotes a participant. */
  setRole(caller: Identity, confId: string, uri: string, role: Role): ReturnType<Moderation['setRole']> {
    return this.moderation.setRole(caller, confId, uri, role);
  }

  /** Meeting IM to the participants of the current activation (but the sending connection). */
  sendMessage(sender: Identity, connectionId: string, confId: string, command: MessageCommand): Promise<MessageResult> {
    return this.meetingIm.send(sender, connectionId, confId, command);
  }

  /** The current activation's IM, newest first, for its current participants. */
  messages(reader: Identity, confId: string, limit: number, before?: string): ReturnType<MeetingIm['list']> {
    return this.meetingIm.list(reader, confId, limit, before);
  }

  /** In the order added, a frame at a time: `cursor` (the last item answered) when more remain (issue 17 item 2). */
  listContent(caller: Identity, confId: string, cursor?: string): Promise<{ content: ConferenceContent[]; cursor?: string }> {
    return this.content.list(caller, confId, cursor);
  }

  /** A deactivation rule's timer: subject `{confId}/{activationInstance}`. */
  onDeactivationTimer(rule: AutomaticRule, firing: TimerFiring): Promise<TimerOutcome> {
    return this.lifecycle.onDeactivationTimer(rule, firing);
  }

  /** Content purge: subject `{confId}/{deactivatedAt}`. */
  onContentPurgeTimer(firing: TimerFiring): Promise<TimerOutcome> {
    return this.lifecycle.onContentPurgeTimer(firing);
  }

  /** Expiry: subject `{confId}`. */
  onExpiryTimer(firing: TimerFiring): Promise<TimerOutcome> {
    return this.lifecycle.onExpiryTimer(firing);
  }
}

import type { Identity } from '../auth/identity';
import { RETRY, retryOnConflict } from '../concurrency';
import { BadRequestError, ForbiddenError, GoneError } from '../errors';
import { type Admission, type AutoPromote, type Conference, expiryTime, isLargeMeeting, visibleParticipantCount } from './conference';
import { type ConferenceContext, conferenceKeptChanging, rosterPage, unique, visibleRoster } from './context';
import type { Lifecycle } from './lifecycle';
import type { Participation } from './participation';
import { joinUrlOf } from './meeting-list';
import type { ScheduleResult } from './ports';

export interface ScheduleCommand {
  readonly subject: string;
  readonly admission: Admission;
  readonly autoPromote: AutoPromote;
  readonly pstnLobbyBypass: boolean;
  readonly invitees: readonly string[];
  readonly presenters: readonly string[];
  readonly static: boolean;
  /** With `static`: the user's meeting space gets a new id; the old one is deleted (410). */
  readonly reset?: boolean;
  readonly expiresAt?: number;
  readonly clientId?: string;
}

export interface UpdateCommand {
  readonly locked?: boolean;
  readonly admission?: Admission;
  readonly autoPromote?: AutoPromote;
  readonly pstnLobbyBypass?: boolean;
}

/** The conference's definition: scheduling (and the static meeting space), reading it with its roster, and its policy. */
export class Scheduling {
  constructor(
    private readonly ctx: ConferenceContext,
    private readonly participation: Participation,
    private readonly lifecycle: Lifecycle,
  ) {}

  /** The join link is made from WEB_APP_URL on every answer, so one stored by an earlier release (a replay, the static space) is current too. */
  async schedule(organizer: Identity, command: ScheduleCommand): Promise<ScheduleResult> {
    const { confId } = await this.scheduleOrReplay(organizer, command);
    return { confId, joinUrl: joinUrlOf(this.ctx.deps.webAppUrl, confId) };
  }

  private async scheduleOrReplay(organizer: Identity, command: ScheduleCommand): Promise<ScheduleResult> {
    const { store } = this.ctx.deps;
    if (organizer.kind !== 'enterprise') throw new ForbiddenError('only enterprise users may schedule conferences');
    if (command.reset && !command.static) throw new BadRequestError("'reset' applies to the static meeting space only (static: true)");
    if (!command.static) return this.scheduleConference(organizer, command);
    // A user has one static meeting space (Lync's "my meeting space"): the same id every time until reset.
    // A retried reset (same clientId) answers as before rather than resetting again.
    const earlier = command.clientId ? await store.scheduled(organizer.uri, command.clientId) : undefined;
    if (earlier) return earlier;
    const space = await store.staticSpace(organizer.uri);
    const current = space && (await store.get(space.confId));
    const alive = current !== undefined && current.state !== 'deleted';
    if (space && alive && !command.reset) return space;
    if (space && alive) await this.lifecycle.deleteConference(space.confId, 'deleted');
    // Conditional on the space read: when another request created or reset it first, the store answers that space.
    return this.scheduleConference(organizer, command, space ? { replacing: space.confId } : {});
  }

  async get(caller: Identity, confId: string, rosterCursor?: string) {
    const { deps } = this.ctx;
    let conference = await this.ctx.load(confId);
    const readsRoster = conference.active !== undefined && (await this.ctx.mayReadRoster(conference, caller));
    // A roster shows no ghost: participants whose every connection is gone are removed first, as if they left.
    if (readsRoster) conference = await this.participation.removeVanished(conference);
    const active = conference.active;
    const roster = active && readsRoster ? rosterPage(visibleRoster(await deps.store.participants(confId, active.activationInstance)), rosterCursor) : undefined;
    return {
      confId,
      subject: conference.subject,
      organizer: conference.organizer,
      admission: conference.admission,
      autoPromote: conference.autoPromote,
      pstnLobbyBypass: conference.pstnLobbyBypass,
      static: conference.static,
      expiresAt: conference.static ? undefined : expiryTime(conference, deps.durations),
      state: conference.state,
      lastDeactivationReason: conference.lastDeactivationReason,
      active: active && {
        confId,
        activationInstance: active.activationInstance,
        stateVersion: conference.stateVersion,
        locked: active.locked,
        admissionType: active.admission,
        autoPromote: active.autoPromote,
        pstnLobbyBypass: active.pstnLobbyBypass,
        lastEnterpriseLeaveTime: active.lastEnterpriseLeaveTime,
        lastJoinTime: active.lastJoinTime,
        isLargeMeeting: isLargeMeeting(active),
        // Trusted participants are hidden: from the count as from the roster.
        participantCount: visibleParticipantCount(active),
      },
      ...(roster ? { roster: roster.roster, ...(roster.rosterCursor ? { rosterCursor: roster.rosterCursor } : {}) } : {}),
    };
  }

  async update(caller: Identity, confId: string, command: UpdateCommand) {
    const { deps } = this.ctx;
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      await this.ctx.assertPresenter(conference, caller, true);
      if (command.locked !== undefined && !conference.active) throw new GoneError('only an active conference can be locked or unlocked');
      const policy = {
        admission: command.admission ?? conference.admission,
        autoPromote: command.autoPromote ?? conference.autoPromote,
        pstnLobbyBypass: command.pstnLobbyBypass ?? conference.pstnLobbyBypass,
      };
      const next: Conference = {
        ...conference,
        ...policy,
        stateVersion: conference.stateVersion + 1,
        ...(conference.active ? { active: { ...conference.active, ...policy, locked: command.locked ?? conference.active.locked } } : {}),
      };
      if (!(await deps.store.commit(next, conference.stateVersion))) return RETRY;
      if (next.active) {
        const payload = { confId, stateVersion: next.stateVersion, locked: next.active.locked, ...policy };
        await this.ctx.toParticipants(next, { event: 'conf.updated', payload: payload });
      }
      return { confId, stateVersion: next.stateVersion, locked: next.active?.locked ?? false, ...policy };
    }, conferenceKeptChanging);
  }

  private async scheduleConference(organizer: Identity, command: ScheduleCommand, staticSpace?: { readonly replacing?: string }): Promise<ScheduleResult> {
    const { deps } = this.ctx;
    const confId = deps.newId('conf');
    const now = deps.clock.now();
    const conference: Conference = {
      confId,
      organizer: organizer.uri,
      subject: command.subject,
      admission: command.admission,
      autoPromote: command.autoPromote,
      pstnLobbyBypass: command.pstnLobbyBypass,
      invitees: unique(command.invitees),
      presenters: unique(command.presenters),
      static: command.static,
      ...(command.expiresAt !== undefined ? { expiresAt: command.expiresAt } : {}),
      createdAt: now,
      state: 'scheduled',
      stateVersion: 1,
    };
    const result = { confId, joinUrl: joinUrlOf(deps.webAppUrl, confId) };
    const answer = await deps.store.schedule(conference, result, command.clientId, staticSpace);
    // The organizer's `conf.list` entry is in the schedule's transaction; the invitees' follow (idempotent). A retry
    // answered from an earlier attempt writes them again, in case that attempt failed after its commit.
    const scheduled = answer.confId === confId ? conference : await deps.store.get(answer.confId);
    if (scheduled) await deps.store.indexInvitees(scheduled);
    return answer;
  }
}

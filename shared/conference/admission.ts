import type { Identity } from '../auth/identity';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError, NotFoundError } from '../errors';
import type { DomainEvent } from '../ports';
import { type Conference, decideAdmission, type LobbyEntry, presenterIsIn } from './conference';
import { type ConferenceContext, conferenceKeptChanging, retryBestEffort } from './context';
import type { ConferenceEvents } from './events';
import type { Entered, Participation } from './participation';
import type { RuleTimers } from './rule-timers';

export type JoinResult = Entered | { readonly state: 'lobby'; readonly confId: string };

/**
 * Who gets in and who goes: `conf.join` (the lock, admission policy and lobby), the presenters' admit and deny,
 * `conf.leave` and `$disconnect` (from the meeting or its lobby). Each command re-reads and decides again when it loses a race (`retryOnConflict`).
 */
export class Admission {
  constructor(
    private readonly ctx: ConferenceContext,
    private readonly participation: Participation,
    private readonly timers: RuleTimers,
  ) {}

  async join(identity: Identity, connectionId: string, confId: string): Promise<JoinResult> {
    const { deps } = this.ctx;
    return retryOnConflict<JoinResult>(async () => {
      const conference = await this.ctx.load(confId);
      // A lock keeps out new participants, not another device of someone already in.
      const alreadyIn = conference.active?.locked === true && (await this.ctx.currentParticipant(conference, identity.uri)) !== undefined;
      const admission = decideAdmission(conference, identity, deps.homeDomain, alreadyIn);
      if (admission.kind === 'refuse') throw new ForbiddenError(admission.why);
      if (admission.kind === 'lobby') {
        const entry: LobbyEntry = { uri: identity.uri, name: identity.name, kind: identity.kind, connectionId, since: deps.clock.now() };
        await deps.store.putLobby(confId, entry);
        await this.announceLobby(conference, entry);
        return { state: 'lobby', confId };
      }
      // A newcomer's entry holds only if no lock landed since this read (otherwise decided again: 403).
      const unlocked = !alreadyIn && identity.uri !== conference.organizer;
      return (await this.participation.enter(conference, identity, connectionId, { unlocked })) ?? RETRY;
    }, conferenceKeptChanging);
  }

  async admit(presenter: Identity, confId: string, uri: string): Promise<{ admitted: string }> {
    const { deps } = this.ctx;
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      await this.ctx.assertPresenter(conference, presenter);
      const entry = await deps.store.lobbyEntry(confId, uri);
      if (!entry) throw new NotFoundError(`${uri} is not waiting in the lobby`);
      // Only while that wait lasts: a deny (or $disconnect) that ended it first wins, and the re-read answers 404.
      const identity: Identity = { uri: entry.uri, name: entry.name, kind: entry.kind, device: 'desktop' };
      const entered = await this.participation.enter(conference, identity, entry.connectionId, { fromLobby: entry });
      if (!entered) return RETRY;
      await deps.delivery.toConnections([entry.connectionId], { event: 'conf.admitted', payload: { confId, role: entered.role, activationInstance: entered.activationInstance } });
      // Off every presenter's list (not only this one's: another presenter's admit would answer 404); not to the admitted user.
      await this.ctx.toPresenters(confId, entered.activationInstance, { event: 'conf.lobbyLeft', payload: { confId, uri, reason: 'admitted' } }, uri);
      return { admitted: uri };
    }, conferenceKeptChanging);
  }

  async deny(presenter: Identity, confId: string, uri: string): Promise<{ denied: string }> {
    const { deps } = this.ctx;
    const conference = await this.ctx.load(confId);
    await this.ctx.assertPresenter(conference, presenter);
    const entry = await deps.store.lobbyEntry(confId, uri);
    if (!entry) throw new NotFoundError(`${uri} is not waiting in the lobby`);
    // An admit that ended the wait first wins: no conf.denied to someone now in the meeting.
    if (!(await deps.store.deleteLobby(confId, entry))) throw new NotFoundError(`${uri} is not waiting in the lobby`);
    await deps.delivery.toConnections([entry.connectionId], { event: 'conf.denied', payload: { confId } });
    await this.ctx.toPresenters(confId, conference.active?.activationInstance, { event: 'conf.lobbyLeft', payload: { confId, uri, reason: 'denied' } });
    return { denied: uri };
  }

  async leave(identity: Identity, confId: string): Promise<{ left: boolean }> {
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      const participant = await this.ctx.currentParticipant(conference, identity.uri);
      if (!participant) {
        // Waiting in the lobby: leaving ends the wait (a decision that landed first wins: read again).
        const waiting = await this.ctx.deps.store.lobbyEntry(confId, identity.uri);
        if (waiting) return (await this.endWait(conference, waiting, true)) ? { left: true } : RETRY;
        // Perhaps a retry of a leave whose timer could not be armed after its write: finish that work.
        await this.timers.dueByCounters(conference);
        return { left: false };
      }
      return (await this.participation.remove(conference, participant, 'left')) ? { left: true } : RETRY;
    }, conferenceKeptChanging);
  }

  /** `$disconnect`: the connection leaves its conferences (the user stays in while another device is in). */
  async disconnected(identity: Identity, connectionId: string): Promise<void> {
    const { deps } = this.ctx;
    for (const confId of await deps.store.conferencesOfConnection(connectionId)) {
      // Best effort: `$disconnect` has no one to answer; a participant left behind is a ghost, removed by the next read or timer.
      await retryBestEffort(async () => {
        const conference = await deps.store.get(confId);
        if (!conference) return;
        const waiting = await deps.store.lobbyEntry(confId, identity.uri);
        if (waiting?.connectionId === connectionId) {
          await this.endWait(conference, waiting, false);
          return;
        }
        const participant = await this.ctx.currentParticipant(conference, identity.uri);
        if (!participant?.connectionIds.includes(connectionId)) return;
        const done =
          participant.connectionIds.length === 1
            ? await this.participation.remove(conference, participant, 'disconnected')
            : await deps.store.removeConnection(confId, participant, connectionId);
        return done ? undefined : RETRY;
      });
    }
  }

  /**
   * A wait that ends without a decision (left, disconnected): the presenters take it off their lists. `tellWaiter`: the
   * waiting connection hears it (`conf.waitEnded`): `conf.leave` names the user, so it may come from another connection.
   * False when the wait had already ended.
   */
  private async endWait(conference: Conference, entry: LobbyEntry, tellWaiter: boolean): Promise<boolean> {
    const { confId } = conference;
    if (!(await this.ctx.deps.store.deleteLobby(confId, entry))) return false;
    if (tellWaiter) await this.ctx.deps.delivery.toConnections([entry.connectionId], { event: 'conf.waitEnded', payload: { confId, reason: 'left' } });
    await this.ctx.toPresenters(confId, conference.active?.activationInstance, { event: 'conf.lobbyLeft', payload: { confId, uri: entry.uri, reason: 'left' } });
    return true;
  }

  private async announceLobby(conference: Conference, entry: LobbyEntry): Promise<void> {
    const { deps } = this.ctx;
    const participants = conference.active ? await deps.store.participants(conference.confId, conference.active.activationInstance) : [];
    const presenters = participants.filter((p) => p.role === 'presenter');
    // Told at once whether anyone is there to let them in (a meeting that has ended, or whose presenters have all left).
    await deps.delivery.toConnections([entry.connectionId], { event: 'conf.lobbyWait', payload: { confId: conference.confId, presenterPresent: presenterIsIn(presenters) } });
    if (presenters.length === 0) return;
    const event: DomainEvent<ConferenceEvents> = { event: 'conf.lobby', payload: { confId: conference.confId, uri: entry.uri, name: entry.name, kind: entry.kind } };
    await deps.delivery.toConnections(presenters.flatMap((p) => p.connectionIds), event);
  }
}

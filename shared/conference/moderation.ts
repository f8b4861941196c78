import type { Identity } from '../auth/identity';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError, NotFoundError } from '../errors';
import { type Conference, lobbyPresenterNews, type Participant, type Role } from './conference';
import { type ConferenceContext, conferenceKeptChanging, rosterEntry } from './context';
import type { Participation } from './participation';

/**
 * A presenter's controls over participants (SPEC §9): `conf.eject` and `conf.role`, under the Focus's rules: only
 * presenters (the organizer included), never the organizer by someone else, trusted participants untouched (they are
 * hidden from every roster, so a presenter cannot name one: answered as not in the meeting). Each write is conditional
 * on the participant's stay read (activation, `joinedAt`, endpoints): a leave, a rejoin or another device in between
 * loses the write, and the command reads again and decides again.
 */
export class Moderation {
  constructor(
    private readonly ctx: ConferenceContext,
    private readonly participation: Participation,
  ) {}

  /** The participant leaves (`conf.ejected` to their connections, `conf.roster` `left` to the others); coming back goes through admission again. */
  async eject(caller: Identity, confId: string, uri: string): Promise<{ ejected: string }> {
    const { deps } = this.ctx;
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      await this.ctx.assertPresenter(conference, caller);
      if (uri === conference.organizer && caller.uri !== conference.organizer) throw new ForbiddenError('the organizer cannot be ejected by someone else');
      const target = await this.visibleParticipant(conference, uri);
      if (!(await this.participation.remove(conference, target, 'ejected', caller.uri))) return RETRY;
      await deps.delivery.toConnections(target.connectionIds, { event: 'conf.ejected', payload: { confId, activationInstance: target.activationInstance, by: caller.uri } });
      return { ejected: uri };
    }, conferenceKeptChanging);
  }

  /** Promotes or demotes a participant: `conf.roster` (`role`) to every participant; a new presenter is told who waits in the lobby. */
  async setRole(caller: Identity, confId: string, uri: string, role: Role): Promise<{ confId: string; uri: string; role: Role; changed: boolean }> {
    const { deps } = this.ctx;
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      await this.ctx.assertPresenter(conference, caller);
      // The organizer always presents (roleFor); nobody demotes them, and so nobody else either.
      if (uri === conference.organizer && role !== 'presenter') throw new ForbiddenError('the organizer is always a presenter');
      const target = await this.visibleParticipant(conference, uri);
      if (target.role === role) return { confId, uri, role, changed: false };
      if (!(await deps.store.setRole(confId, target, role))) return RETRY;
      await this.ctx.toParticipants(conference, { event: 'conf.roster', payload: { confId, change: 'role', participant: rosterEntry({ ...target, role }) } });
      const lobby = await deps.store.lobby(confId);
      if (role === 'presenter') {
        for (const entry of lobby) {
          await deps.delivery.toConnections(target.connectionIds, { event: 'conf.lobby', payload: { confId, uri: entry.uri, name: entry.name, kind: entry.kind } });
        }
      }
      if (lobby.length > 0) {
        // The first presenter promoted, or the last one demoted: whoever waits hears it.
        const participants = await deps.store.participants(confId, target.activationInstance);
        const before = participants.map((participant) => (participant.uri === uri ? target : participant));
        const after = participants.map((participant) => (participant.uri === uri ? { ...participant, role } : participant));
        await this.ctx.tellLobby(confId, lobbyPresenterNews(before, after), lobby);
      }
      return { confId, uri, role, changed: true };
    }, conferenceKeptChanging);
  }

  /** The participant of the current activation a presenter may act on: trusted participants are hidden, so not found. */
  private async visibleParticipant(conference: Conference, uri: string): Promise<Participant> {
    const participant = await this.ctx.currentParticipant(conference, uri);
    if (!participant || participant.hidden) throw new NotFoundError(`${uri} is not in the meeting`);
    return participant;
  }
}

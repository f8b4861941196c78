import type { ConferencePolicy, DeactivationReason, LobbyEntry, Participant, RosterEntry } from './conference';
import type { ConferenceContent, ConferenceMessage } from './ports';

/**
 * Why a wait in the lobby ended, as `conf.lobbyLeft` tells the presenters: `left` (the waiting user's `conf.leave`, or
 * their connection went), `admitted` or `denied` (a presenter decided: the others take the entry off their lists too).
 */
export type LobbyLeftReason = 'left' | 'admitted' | 'denied';

/** What the conference use cases push (docs/protocol.md), by event name: the payload beside `type` and `event`. */
export interface ConferenceEvents {
  /** `role`: a presenter's `conf.role` changed the participant's role (the entry carries the new one). */
  'conf.roster': { readonly confId: string; readonly change: 'joined' | 'left' | 'role'; readonly participant: RosterEntry };
  /** To every connection of a participant a presenter ejected (`conf.eject`); coming back goes through admission again. */
  'conf.ejected': { readonly confId: string; readonly activationInstance: string; readonly by: string };
  /** Meeting IM (`conf.message`) to the participants of the activation. */
  'conf.message': ConferenceMessage;
  /** Content a presenter added (`conf.content.add`), to the participants. */
  'conf.content': { readonly confId: string; readonly content: ConferenceContent };
  'conf.lobby': { readonly confId: string } & Pick<LobbyEntry, 'uri' | 'name' | 'kind'>;
  /** To presenters: a wait ended, so off every presenter's lobby list (`reason`: whose doing, `LobbyLeftReason`). */
  'conf.lobbyLeft': { readonly confId: string; readonly uri: string; readonly reason: LobbyLeftReason };
  /**
   * To the connection that waited, when `conf.leave` (which names the user, not the connection: perhaps another tab's)
   * ended its wait; `conf.denied` is a presenter's decision, this is not. Not sent after `$disconnect` (nobody to tell).
   */
  'conf.waitEnded': { readonly confId: string; readonly reason: 'left' };
  /** To the waiting user: on entering the lobby, and again whenever a presenter comes or the last one goes (`lobbyPresenterNews`). */
  'conf.lobbyWait': { readonly confId: string; readonly presenterPresent: boolean };
  /** `admit`: the role and activation instance the admitted user entered with (what a joined `conf.join` answers). */
  'conf.admitted': { readonly confId: string } & Pick<Participant, 'role' | 'activationInstance'>;
  'conf.denied': { readonly confId: string };
  /** `update`: the same fields as its answer. */
  'conf.updated': { readonly confId: string; readonly stateVersion: number; readonly locked: boolean } & ConferencePolicy;
  'conf.deactivated': { readonly confId: string; readonly reason: DeactivationReason; readonly activationInstance: string };
}

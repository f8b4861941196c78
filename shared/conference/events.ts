import type { ConferencePolicy, DeactivationReason, LobbyEntry, Participant, RosterEntry } from './conference';

/** What the conference use cases push (docs/protocol.md), by event name: the payload beside `type` and `event`. */
export interface ConferenceEvents {
  'conf.roster': { readonly confId: string; readonly change: 'joined' | 'left'; readonly participant: RosterEntry };
  'conf.lobby': { readonly confId: string } & Pick<LobbyEntry, 'uri' | 'name' | 'kind'>;
  'conf.lobbyWait': { readonly confId: string };
  /** `admit`: the role and activation instance the admitted user entered with (what a joined `conf.join` answers). */
  'conf.admitted': { readonly confId: string } & Pick<Participant, 'role' | 'activationInstance'>;
  'conf.denied': { readonly confId: string };
  /** `update`: the same fields as its answer. */
  'conf.updated': { readonly confId: string; readonly stateVersion: number; readonly locked: boolean } & ConferencePolicy;
  'conf.deactivated': { readonly confId: string; readonly reason: DeactivationReason; readonly activationInstance: string };
}

import type { Identity } from '../auth/identity';
import { BadRequestError } from '../errors';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import { countThatFits } from '../protocol/frame-fit';
import { JOIN_PATH } from '../protocol/join-link';
import { type Conference, expiryTime, isGone, visibleParticipantCount } from './conference';
import type { ConferenceContext } from './context';
import type { MeetingIndexEntry, MeetingRole } from './ports';

/**
 * A meeting's join link (SPEC §9): the web app at WEB_APP_URL, on the page that takes the visitor straight to the
 * meeting, `{WEB_APP_URL}/join/{confId}`. Without WEB_APP_URL there is no honest link to give: a configuration error.
 */
export function joinUrlOf(webAppUrl: string | undefined, confId: string): string {
  if (!webAppUrl) throw new Error('invalid configuration: WEB_APP_URL is required to make join links');
  return `${webAppUrl.replace(/\/+$/, '')}${JOIN_PATH}${encodeURIComponent(confId)}`;
}

/** Who finds a conference in their `conf.list`, and as what: the organizer, each scheduled presenter, each invitee (once, in that order). */
export function meetingIndexEntries(conference: Pick<Conference, 'confId' | 'organizer' | 'presenters' | 'invitees' | 'createdAt'>): Array<MeetingIndexEntry & { readonly uri: string }> {
  const roles = new Map<string, MeetingRole>([[conference.organizer, 'organizer']]);
  for (const uri of conference.presenters) if (!roles.has(uri)) roles.set(uri, 'presenter');
  for (const uri of conference.invitees) if (!roles.has(uri)) roles.set(uri, 'invitee');
  return [...roles].map(([uri, role]) => ({ uri, confId: conference.confId, role, scheduledAt: conference.createdAt }));
}

/** The sort key of an index entry: newest first when read backwards, ties broken by id. */
export function meetingIndexKey(entry: Pick<MeetingIndexEntry, 'scheduledAt' | 'confId'>): string {
  return `${String(entry.scheduledAt).padStart(15, '0')}#${entry.confId}`;
}

const INDEX_KEY = /^\d{15}#[^#]+$/;

/** A meeting as `conf.list` shows it. */
export interface MeetingSummary {
  readonly confId: string;
  readonly subject: string;
  readonly organizer: string;
  readonly role: MeetingRole;
  readonly joinUrl: string;
  readonly state: 'scheduled' | 'active' | 'deactivated';
  readonly static: boolean;
  readonly scheduledAt: number;
  readonly expiresAt?: number;
  readonly participantCount?: number;
}

export interface MeetingListPage {
  readonly meetings: MeetingSummary[];
  readonly cursor?: string;
}

/**
 * `conf.list` (SPEC §9): the meetings the caller organizes or is invited to, newest first, a page at a time. One Query
 * of the caller's own index (`MYCONF#{uri}`, written when a meeting is scheduled) and one batch read of those
 * conferences, which decide: a conference deleted or expired is left out and its index entry removed (once).
 */
export class MeetingList {
  constructor(private readonly ctx: ConferenceContext) {}

  async list(caller: Identity, limit: number, cursor?: string): Promise<MeetingListPage> {
    const { deps } = this.ctx;
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    if (after !== undefined && !INDEX_KEY.test(after)) throw new BadRequestError("field 'cursor': not a cursor this server gave", 'cursor');
    const page = await deps.store.meetingsOf(caller.uri, limit, after);
    const conferences = page.entries.length > 0 ? await deps.store.getMany(page.entries.map((entry) => entry.confId)) : new Map<string, Conference>();
    const now = deps.clock.now();
    const live: Array<{ entry: MeetingIndexEntry; conference: Conference }> = [];
    const gone: MeetingIndexEntry[] = [];
    for (const entry of page.entries) {
      const conference = conferences.get(entry.confId);
      if (!conference || isGone(conference, now, deps.durations)) gone.push(entry);
      else live.push({ entry, conference });
    }
    if (gone.length > 0) await deps.store.unindexMeetings(caller.uri, gone);
    const meetings = live.map(({ entry, conference }) => this.summary(conference, entry.role));
    // One answer is one frame: a page the frame cannot hold is cut, and the cursor resumes after the last one answered.
    const kept = countThatFits(meetings, (items) => ({ meetings: items }));
    const lastKept = kept < meetings.length ? live[kept - 1]?.entry : undefined;
    const next = lastKept ? meetingIndexKey(lastKept) : page.next;
    return { meetings: meetings.slice(0, kept), ...(next !== undefined ? { cursor: encodeKeyCursor(next) } : {}) };
  }

  private summary(conference: Conference, role: MeetingRole): MeetingSummary {
    const { deps } = this.ctx;
    const active = conference.state === 'active' ? conference.active : undefined;
    return {
      confId: conference.confId,
      subject: conference.subject,
      organizer: conference.organizer,
      role,
      joinUrl: joinUrlOf(deps.webAppUrl, conference.confId),
      state: conference.state === 'deleted' ? 'deactivated' : conference.state,
      static: conference.static,
      scheduledAt: conference.createdAt,
      ...(conference.static ? {} : { expiresAt: expiryTime(conference, deps.durations) }),
      ...(active ? { participantCount: visibleParticipantCount(active) } : {}),
    };
  }
}

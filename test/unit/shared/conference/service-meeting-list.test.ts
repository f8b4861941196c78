import { decodeKeyCursor } from '../../../../shared/protocol/cursor';
import { conferenceHarness, DAY, olga, user, WEB_APP_URL } from './harness';

/**
 * `conf.list` and join links (SPEC §9) on memory ports: the meetings a user organizes or is invited to, from an index of
 * their own (never a scan), newest first, paged; the conference decides (a deleted or expired one is left out and its
 * entry removed); `joinUrl` is the web app at WEB_APP_URL, on the meeting's page.
 */
const bob = user('bob');
const petra = user('petra');
const mallory = user('mallory');
const guest = user('gina', 'anonymous', 'anonymous.invalid');

describe('joinUrl rule: the join link opens the web app at WEB_APP_URL on the meeting (`/join/{confId}`)', () => {
  it('conf.schedule answers it, and conf.list gives the same', async () => {
    const h = conferenceHarness();
    const scheduled = await h.service.schedule(olga, { subject: 'weekly', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: false });
    expect(scheduled.joinUrl).toBe(`${WEB_APP_URL}/join/${scheduled.confId}`);
    expect((await h.service.list(olga, 20)).meetings[0]?.joinUrl).toBe(scheduled.joinUrl);
  });

  it("the static meeting space's link is made from WEB_APP_URL on every answer, whatever was stored with it", async () => {
    const h = conferenceHarness();
    const first = await h.service.schedule(olga, { subject: 'my space', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true });
    h.store.staticSpaces.set(olga.uri, { confId: first.confId, result: { confId: first.confId, joinUrl: 'https://meet.contoso.com/olga/old' } });
    const again = await h.service.schedule(olga, { subject: 'my space', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: true });
    expect(again).toEqual({ confId: first.confId, joinUrl: `${WEB_APP_URL}/join/${first.confId}` });
  });
});

describe('conf.list rule: the meetings the caller organizes or is invited to, and no one else’s', () => {
  it('the organizer, each scheduled presenter and each invitee find it, with their role; others do not', async () => {
    const h = conferenceHarness();
    const confId = await h.schedule({ subject: 'design review', invitees: [bob.uri, guest.uri], presenters: [petra.uri] });
    const roleOf = async (who: typeof olga) => (await h.service.list(who, 20)).meetings.filter((meeting) => meeting.confId === confId).map((meeting) => meeting.role);
    expect(await roleOf(olga)).toEqual(['organizer']);
    expect(await roleOf(petra)).toEqual(['presenter']);
    expect(await roleOf(bob)).toEqual(['invitee']);
    expect(await roleOf(guest)).toEqual(['invitee']);
    expect((await h.service.list(mallory, 20)).meetings).toEqual([]);
  });

  it('each entry says what the meeting is and where it stands: subject, organizer, state, link, expiry; participants while active', async () => {
    const h = conferenceHarness();
    const confId = await h.schedule({ subject: 'design review', invitees: [bob.uri] });
    expect((await h.service.list(bob, 20)).meetings).toEqual([
      {
        confId,
        subject: 'design review',
        organizer: olga.uri,
        role: 'invitee',
        joinUrl: `${WEB_APP_URL}/join/${confId}`,
        state: 'scheduled',
        static: false,
        scheduledAt: h.clock.now(),
        expiresAt: h.clock.now() + 14 * DAY,
      },
    ]);
    await h.joined(olga, confId);
    expect((await h.service.list(bob, 20)).meetings[0]).toMatchObject({ state: 'active', participantCount: 1 });
  });

  it('newest first, a page at a time: the cursor resumes after the last one answered, every meeting once', async () => {
    const h = conferenceHarness();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      h.clock.advance(1000);
      ids.push(await h.schedule({ subject: `meeting ${index}`, invitees: [bob.uri] }));
    }
    const first = await h.service.list(bob, 2);
    expect(first.meetings.map((meeting) => meeting.confId)).toEqual([ids[4], ids[3]]);
    const second = await h.service.list(bob, 2, first.cursor);
    const third = await h.service.list(bob, 2, second.cursor);
    expect([...second.meetings, ...third.meetings].map((meeting) => meeting.confId)).toEqual([ids[2], ids[1], ids[0]]);
    expect(third.cursor).toBeUndefined();
  });

  it('a cursor this server did not give is 400 naming the field', async () => {
    const h = conferenceHarness();
    await expect(h.service.list(bob, 20, Buffer.from('ROOM#x').toString('base64url'))).rejects.toMatchObject({ status: 400, field: 'cursor' });
  });

  it('a deleted or expired meeting is left out, and its entry removed once (the conference decides; the index is a hint)', async () => {
    const h = conferenceHarness();
    const deleted = await h.schedule({ subject: 'cancelled', invitees: [bob.uri] });
    h.clock.advance(1000);
    await h.schedule({ subject: 'old', invitees: [bob.uri], expiresAt: h.clock.now() + DAY });
    h.clock.advance(1000);
    const kept = await h.schedule({ subject: 'kept', invitees: [bob.uri], static: false, expiresAt: h.clock.now() + 30 * DAY });
    await h.service.delete(olga, deleted);
    h.clock.advance(15 * DAY);
    const listed = await h.service.list(bob, 20);
    expect(listed.meetings.map((meeting) => meeting.confId)).toEqual([kept]);
    expect([...(h.store.meetingIndex.get(bob.uri)?.values() ?? [])].map((entry) => entry.confId)).toEqual([kept]);
    expect(h.store.writes.filter((write) => write === 'unindexMeetings')).toHaveLength(1);
    await h.service.list(bob, 20);
    expect(h.store.writes.filter((write) => write === 'unindexMeetings')).toHaveLength(1);
  });

  it("the organizer's entry is written with the conference; the invitees' entries by a retry when their write failed", async () => {
    const h = conferenceHarness();
    h.store.failNext('indexInvitees');
    const command = { subject: 'retried', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [bob.uri], presenters: [], static: false, clientId: 'k1' } as const;
    await expect(h.service.schedule(olga, command)).rejects.toThrow('the table is unavailable');
    expect((await h.service.list(olga, 20)).meetings).toHaveLength(1);
    expect((await h.service.list(bob, 20)).meetings).toEqual([]);
    const retried = await h.service.schedule(olga, command);
    expect((await h.service.list(bob, 20)).meetings.map((meeting) => meeting.confId)).toEqual([retried.confId]);
    expect((await h.service.list(olga, 20)).meetings).toHaveLength(1);
  });

  it('the cursor is the last key answered (opaque, base64url)', async () => {
    const h = conferenceHarness();
    await h.schedule({ invitees: [bob.uri] });
    h.clock.advance(1);
    await h.schedule({ invitees: [bob.uri] });
    const { cursor } = await h.service.list(bob, 1);
    expect(decodeKeyCursor(cursor!)).toMatch(/^\d{15}#conf/);
  });
});

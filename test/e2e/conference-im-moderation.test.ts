import { type ArchivingCloud, readArchive, startArchivingCloud } from '../support/archive';
import { type TestClient, waitFor } from '../support/client';
import { ok, settled } from '../support/commands';
import { users, userBatch } from '../support/users';

/**
 * SPEC §9 item 5 end to end through the WebSocket API: meeting IM (`conf.message`, `conf.messages`) archived like IM,
 * a presenter's `conf.eject` and `conf.role`, and `conf.content` on adding content, with the refusals (a non-presenter
 * ejecting or changing roles, ejecting the organizer, reading the meeting's IM after leaving). The rules' variants and
 * races are in test/unit/shared/conference/service-{moderation,meeting-im}.test.ts.
 */
let archiving: ArchivingCloud;

beforeAll(async () => {
  archiving = await startArchivingCloud('conf-im', { exportSeconds: 1 });
});
afterAll(async () => {
  await archiving.stop();
});

async function status(client: TestClient, action: string, args: Record<string, unknown>): Promise<{ status: number; field?: string }> {
  const response = await client.request(action, args);
  return { status: response.status, ...(response.error?.field ? { field: response.error.field } : {}) };
}

/** An organizer and two colleagues in a meeting (admission `organization`, only scheduled presenters present). */
async function meeting() {
  const [aliceUri, bobUri, carolUri] = users('alice', 'bob', 'carol') as [string, string, string];
  const { cloud } = archiving;
  const [alice, bob, carol] = await Promise.all([cloud.connect(aliceUri), cloud.connect(bobUri), cloud.connect(carolUri)]);
  const { confId } = (await ok(alice, 'conf.schedule', { subject: `im ${userBatch()}`, admission: 'organization', autoPromote: 'scheduledPresenters' })) as { confId: string };
  for (const client of [alice, bob, carol]) expect(await ok(client, 'conf.join', { confId })).toMatchObject({ state: 'joined' });
  return { confId, alice, bob, carol, aliceUri, bobUri, carolUri };
}

test('meeting IM reaches every participant once (clientMsgId), is archived like IM, and is refused to a participant who left', async () => {
  const { confId, alice, bob, carol } = await meeting();
  const sent = await ok(bob, 'conf.message', { confId, text: 'hello meeting', clientMsgId: 'c1' });
  const event = await carol.nextEvent('conf.message', (frame) => frame.messageId === sent.messageId);
  expect(event).toMatchObject({ confId, text: 'hello meeting', activationInstance: sent.activationInstance, from: { name: expect.any(String) } });
  await alice.nextEvent('conf.message', (frame) => frame.messageId === sent.messageId);
  // A retry with the same clientMsgId answers the same and delivers nothing again.
  expect(await ok(bob, 'conf.message', { confId, text: 'hello meeting', clientMsgId: 'c1' })).toEqual(sent);
  await settled(bob, carol);
  expect(carol.eventsNamed('conf.message')).toHaveLength(1);
  expect(bob.eventsNamed('conf.message')).toHaveLength(0);

  expect(await ok(carol, 'conf.messages', { confId })).toMatchObject({ confId, messages: [{ messageId: sent.messageId, text: 'hello meeting' }] });
  expect(await status(bob, 'conf.message', { confId, text: 'x'.repeat(4001) })).toEqual({ status: 413 });

  // Reading a meeting's IM after leaving: refused.
  await ok(carol, 'conf.leave', { confId });
  expect(await status(carol, 'conf.messages', { confId })).toEqual({ status: 403 });
  expect(await status(carol, 'conf.message', { confId, text: 'still here?' })).toEqual({ status: 403 });

  const archived = await waitFor('the meeting message in the archive', async () => {
    const events = (await readArchive(archiving.exportDir)).filter((entry) => entry.type === 'conf.message' && entry.targetId === confId);
    return events.length > 0 && events;
    // An export runs every second; the margin is for a loaded machine, the wait ends as soon as it is there.
  }, 30_000);
  expect(archived.map((entry) => entry.content)).toEqual(['hello meeting']);
});

test('a presenter promotes, demotes and ejects; an ejected participant comes back through admission; the refusals', async () => {
  const { confId, alice, bob, carol, aliceUri, bobUri, carolUri } = await meeting();
  const guestUri = `sip:guest${userBatch()}@fabrikam.com`;
  const guest = await archiving.cloud.connect(guestUri, 'federated');
  expect(await ok(guest, 'conf.join', { confId })).toEqual({ state: 'lobby', confId });
  await ok(alice, 'conf.admit', { confId, uri: guestUri });
  await guest.nextEvent('conf.admitted');

  // An attendee may neither eject nor change roles; a role the protocol does not have is a 400 naming the field.
  expect(await status(bob, 'conf.eject', { confId, uri: guestUri })).toEqual({ status: 403 });
  expect(await status(bob, 'conf.role', { confId, uri: bobUri, role: 'presenter' })).toEqual({ status: 403 });
  expect(await status(alice, 'conf.role', { confId, uri: bobUri, role: 'owner' })).toEqual({ status: 400, field: 'role' });

  // The organizer promotes bob: everyone sees the new role in the roster.
  expect(await ok(alice, 'conf.role', { confId, uri: bobUri, role: 'presenter' })).toEqual({ confId, uri: bobUri, role: 'presenter', changed: true });
  for (const client of [carol, guest, bob]) {
    await client.nextEvent('conf.roster', (frame) => frame.change === 'role' && (frame.participant as { uri: string }).uri === bobUri && (frame.participant as { role: string }).role === 'presenter');
  }

  // A presenter never ejects the organizer; nor demotes them.
  expect(await status(bob, 'conf.eject', { confId, uri: aliceUri })).toEqual({ status: 403 });
  expect(await status(bob, 'conf.role', { confId, uri: aliceUri, role: 'attendee' })).toEqual({ status: 403 });

  // bob ejects the guest: conf.ejected to the guest, conf.roster left to the others.
  expect(await ok(bob, 'conf.eject', { confId, uri: guestUri })).toEqual({ ejected: guestUri });
  expect(await guest.nextEvent('conf.ejected')).toMatchObject({ confId, by: bobUri });
  await carol.nextEvent('conf.roster', (frame) => frame.change === 'left' && (frame.participant as { uri: string }).uri === guestUri);
  expect(await status(guest, 'conf.messages', { confId })).toEqual({ status: 403 });
  // Coming back goes through admission again: the lobby, for a federated user under `organization`.
  expect(await ok(guest, 'conf.join', { confId })).toEqual({ state: 'lobby', confId });

  // The organizer demotes bob; the roster shows it, and bob may eject no more.
  await ok(alice, 'conf.role', { confId, uri: bobUri, role: 'attendee' });
  await carol.nextEvent('conf.roster', (frame) => frame.change === 'role' && (frame.participant as { role: string }).role === 'attendee');
  expect(await status(bob, 'conf.eject', { confId, uri: carolUri })).toEqual({ status: 403 });
  const roster = ((await ok(carol, 'conf.get', { confId })).roster as Array<{ uri: string; role: string }>).map(({ uri, role }) => [uri, role]);
  expect(roster).toEqual(expect.arrayContaining([[bobUri, 'attendee'], [aliceUri, 'presenter']]));
});

test('adding content sends conf.content to the participants: no Refresh needed', async () => {
  const { confId, alice, bob, carol } = await meeting();
  const added = await ok(alice, 'conf.content.add', { confId, title: 'agenda', kind: 'link', body: 'https://example.com/agenda' });
  for (const client of [bob, carol]) expect(await client.nextEvent('conf.content')).toMatchObject({ confId, content: added });
  await settled(alice);
  expect(alice.eventsNamed('conf.content')).toHaveLength(0);
});

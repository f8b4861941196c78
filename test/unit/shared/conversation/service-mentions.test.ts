import { alice, bob, carol, conn, conversationHarness } from './conversation-harness';

/** SPEC §9: `im.send {mentions}` sends `im.mention` to every connection of each mentioned participant, and no one else. */

describe('im.send {mentions}', () => {
  test('a mentioned participant gets im.mention on every connection, besides the im.message', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob, carol]);
    h.delivery.clear();
    const { messageId } = await h.service.send(alice, conn(alice), { conversationId, text: 'bob?', contentType: 'text/plain', mentions: [bob.uri.toUpperCase()] });
    expect(h.delivery.named('im.mention')).toEqual([
      { connectionIds: [conn(bob)], payload: { conversationId, messageId, from: { uri: alice.uri, name: 'alice' }, text: 'bob?', contentType: 'text/plain', ts: expect.any(Number) } },
    ]);
    expect(h.delivery.recipientsOf('im.message').sort()).toEqual([conn(bob), conn(carol)].sort());
  });

  test('a mention of someone outside the conversation, or of the sender, is not delivered', async () => {
    const h = conversationHarness();
    await h.service.send(alice, conn(alice), { to: [bob.uri], text: 'hi', contentType: 'text/plain', mentions: ['sip:mallory@contoso.com', alice.uri] });
    expect(h.delivery.named('im.mention')).toEqual([]);
  });

  test('a mention on the message that opens a conversation reaches the mentioned recipient', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.service.send(alice, conn(alice), { to: [bob.uri, carol.uri], text: 'carol!', contentType: 'text/plain', mentions: [carol.uri] });
    expect(h.delivery.named('im.mention').map((entry) => [entry.connectionIds, entry.payload.conversationId])).toEqual([[[conn(carol)], conversationId]]);
  });
});

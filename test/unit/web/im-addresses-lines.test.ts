import type { ImMessage } from '../../../client/src';
import { addressProblem, MAX_IM_PEERS, parseAddresses, toSipUri } from '../../../web/src/addresses';
import { type Line, lineOf, mergeLines } from '../../../web/src/im-lines';

const ME = 'sip:alice@contoso.com';

/** Addresses typed to start an IM or add a contact (issue 23 item 6): checked as the server would, before sending, said in words. */
describe('typed addresses', () => {
  test('an address with or without sip: is a SIP URI in lower case', () => {
    expect(toSipUri(' Bob@Contoso.com ')).toBe('sip:bob@contoso.com');
    expect(toSipUri('sip:bob@contoso.com')).toBe('sip:bob@contoso.com');
    expect(addressProblem('bob@contoso.com')).toBeUndefined();
  });

  test('what the server would refuse is said in words, naming what was typed', () => {
    expect(addressProblem('')).toBe('Type an address, like bob@contoso.com.');
    expect(addressProblem('bob')).toBe('“bob” is not an address: write it like bob@contoso.com.');
    expect(addressProblem('bob@contoso@com')).toMatch(/^“bob@contoso@com” is not an address: write it like bob@contoso.com, with one @/);
    expect(addressProblem('"bob"@contoso.com')).toMatch(/is not an address/);
    expect(addressProblem(`${'b'.repeat(130)}@contoso.com`)).toMatch(/is too long for an address \(at most 124 characters\)/);
    for (const typed of ['bob', '', 'bob@contoso@com']) expect(addressProblem(typed)).not.toMatch(/400|BadRequest|targets|sip:/);
  });

  test('several people in one field: commas, semicolons or spaces; repeats and my own address dropped', () => {
    expect(parseAddresses('bob@contoso.com, carol@contoso.com;dave@contoso.com  bob@contoso.com', ME)).toEqual({
      uris: ['sip:bob@contoso.com', 'sip:carol@contoso.com', 'sip:dave@contoso.com'],
    });
    expect(parseAddresses('alice@contoso.com, bob@contoso.com', ME)).toEqual({ uris: ['sip:bob@contoso.com'] });
    expect(parseAddresses('alice@contoso.com', ME)).toEqual({ problem: 'That is your own address: start a conversation with someone else.' });
    expect(parseAddresses('bob@contoso.com, carol', ME)).toEqual({ problem: '“carol” is not an address: write it like bob@contoso.com.' });
    expect(parseAddresses(' , ', ME)).toEqual({ problem: 'Type an address, like bob@contoso.com.' });
  });

  test('a conversation has at most 50 people: more addresses are refused before sending', () => {
    const many = Array.from({ length: MAX_IM_PEERS + 2 }, (_, index) => `user${index}@contoso.com`).join(',');
    expect(parseAddresses(many, ME)).toEqual({ problem: 'A conversation has at most 50 people with you: remove 2 of the addresses.' });
  });
});

function message(messageId: string, ts: number, extra: Partial<ImMessage> = {}): ImMessage {
  return { conversationId: 'conv1', messageId, from: { uri: 'sip:bob@contoso.com', name: 'Bob' }, text: messageId, contentType: 'text/plain', ts, ...extra };
}

/** A conversation's lines from history, live and resumed messages (issue 23 item 2): each message once, in time order. */
describe('mergeLines', () => {
  test('a page of history goes before what came live, and a message in both is shown once', () => {
    const live = [lineOf(message('m3', 30), ME), lineOf(message('m4', 40), ME)];
    const history = [message('m3', 30), message('m2', 20), message('m1', 10)].map((held) => lineOf(held, ME));
    expect(mergeLines(live, history).map((line) => line.id)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  test('a message brought again (a resume after a blip, a second page) changes nothing: the same lines', () => {
    const held = [lineOf(message('m1', 10), ME), lineOf(message('m2', 20), ME)];
    expect(mergeLines(held, [lineOf(message('m2', 20), ME)])).toBe(held);
  });

  test('history that knows a later edit or a retraction wins over the older live line, never the other way', () => {
    const live = [lineOf(message('m1', 10), ME)];
    const edited = mergeLines(live, [lineOf(message('m1', 10, { text: 'fixed', editedAt: 15 }), ME)]);
    expect(edited[0]).toMatchObject({ text: 'fixed', editedAt: 15 });
    expect(mergeLines(edited, [lineOf(message('m1', 10), ME)])).toBe(edited);
    const retracted = mergeLines(edited, [lineOf(message('m1', 10, { text: '', retracted: true }), ME)]);
    expect(retracted[0]).toMatchObject({ text: '', retracted: true });
    expect(mergeLines(retracted, [lineOf(message('m1', 10, { text: 'fixed', editedAt: 15 }), ME)])).toBe(retracted);
  });

  test('notices and the ended line keep their place in time', () => {
    const ended: Line = { kind: 'ended', id: 'ended-conv1', ts: 25, reason: 'idle' };
    const lines = mergeLines([lineOf(message('m1', 10), ME), ended], [lineOf(message('m3', 30), ME), lineOf(message('m2', 20), ME)]);
    expect(lines.map((line) => line.id)).toEqual(['m1', 'm2', 'ended-conv1', 'm3']);
    expect(lines.find((line) => line.id === 'm1')).toMatchObject({ mine: false, from: { name: 'Bob' } });
  });
});

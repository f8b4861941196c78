import { type ClientEvents, UcClient } from '../../../client/src';
import { FakeServer } from './fake-socket';

/** The client library's side of edit and retract (SPEC §9): the commands, their events, and re-sending them after a drop. */
describe('UcClient: edit and retract', () => {
  let server: FakeServer;
  let client: UcClient;

  async function started() {
    server = new FakeServer();
    client = new UcClient({ url: 'ws://uc.test', token: 'the-token', webSocket: server.factory, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
  }

  function collect<E extends keyof ClientEvents>(event: E): Array<ClientEvents[E]> {
    const seen: Array<ClientEvents[E]> = [];
    client.on(event, (payload) => seen.push(payload));
    return seen;
  }

  afterEach(() => client?.close());

  test('editPost, retractPost, editIm and retractIm send their commands with the fields the server names', async () => {
    await started();
    const edit = client.editPost('room-1', 'm1', 'fixed');
    const editFrame = await server.frame('chat.edit');
    expect(editFrame).toMatchObject({ roomId: 'room-1', messageId: 'm1', text: 'fixed' });
    server.current.answer(editFrame, 200, { roomId: 'room-1', messageId: 'm1', seq: 3, editedAt: 10 });
    await expect(edit).resolves.toEqual({ roomId: 'room-1', messageId: 'm1', seq: 3, editedAt: 10 });

    const retract = client.retractPost('room-1', 'm1');
    server.current.answer(await server.frame('chat.retract'), 200, { roomId: 'room-1', messageId: 'm1', seq: 3, retractedAt: 11, by: 'sip:alice@contoso.com' });
    await expect(retract).resolves.toMatchObject({ by: 'sip:alice@contoso.com' });

    const editIm = client.editIm('conv-1', 'msg-1', 'fixed');
    const imFrame = await server.frame('im.edit');
    expect(imFrame).toMatchObject({ conversationId: 'conv-1', messageId: 'msg-1', text: 'fixed' });
    server.current.answer(imFrame, 200, { conversationId: 'conv-1', messageId: 'msg-1', editedAt: 12 });
    await expect(editIm).resolves.toMatchObject({ editedAt: 12 });

    const retractIm = client.retractIm('conv-1', 'msg-1');
    server.current.answer(await server.frame('im.retract'), 200, { conversationId: 'conv-1', messageId: 'msg-1', retractedAt: 13 });
    await expect(retractIm).resolves.toMatchObject({ retractedAt: 13 });
  });

  test('chat.edited, chat.retracted, im.edited and im.retracted reach their handlers as sent', async () => {
    await started();
    const edited = collect('chat.edited');
    const retracted = collect('chat.retracted');
    const imEdited = collect('im.edited');
    const imRetracted = collect('im.retracted');
    server.current.event('chat.edited', { roomId: 'room-1', messageId: 'm1', seq: 3, text: 'fixed', editedAt: 10 });
    server.current.event('chat.retracted', { roomId: 'room-1', messageId: 'm1', seq: 3, by: 'sip:alice@contoso.com' });
    server.current.event('im.edited', { conversationId: 'conv-1', messageId: 'msg-1', text: 'fixed', editedAt: 12 });
    server.current.event('im.retracted', { conversationId: 'conv-1', messageId: 'msg-1', by: 'sip:alice@contoso.com' });
    expect(edited).toEqual([{ roomId: 'room-1', messageId: 'm1', seq: 3, text: 'fixed', editedAt: 10 }]);
    expect(retracted).toEqual([{ roomId: 'room-1', messageId: 'm1', seq: 3, by: 'sip:alice@contoso.com' }]);
    expect(imEdited).toEqual([{ conversationId: 'conv-1', messageId: 'msg-1', text: 'fixed', editedAt: 12 }]);
    expect(imRetracted).toEqual([{ conversationId: 'conv-1', messageId: 'msg-1', by: 'sip:alice@contoso.com' }]);
  });

  test('an edit waiting for its answer when the connection drops is sent again on the next one (the same text changes nothing)', async () => {
    await started();
    const edit = client.editPost('room-1', 'm1', 'fixed');
    await server.frame('chat.edit');
    server.current.drop();
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    const again = await server.frame('chat.edit', second);
    expect(again).toMatchObject({ roomId: 'room-1', messageId: 'm1', text: 'fixed' });
    second.answer(again, 200, { roomId: 'room-1', messageId: 'm1', seq: 3, editedAt: 10 });
    await expect(edit).resolves.toMatchObject({ editedAt: 10 });
  });
});

import { BadRequestError } from '../../../../shared/errors';
import { type Action, commandSchemas } from '../../../../shared/protocol/commands';
import { validateArgs } from '../../../../shared/protocol/envelope';

/**
 * Issue 16 item 17: `#` separates the parts of the store's keys and `*` names the all-categories directory, so a
 * client id holding `#` and a category holding `#` or `*` are refused, naming the field, before any use case runs.
 */
const parse = (action: Action, args: Record<string, unknown>) => validateArgs(commandSchemas[action], args);

function refusedField(action: Action, args: Record<string, unknown>): string | undefined {
  try {
    parse(action, args);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return (error as BadRequestError).field;
  }
  throw new Error(`${action} accepted ${JSON.stringify(args)}`);
}

test.each([
  ['im.send', { to: 'sip:bob@contoso.com', text: 'x', clientMsgId: 'chat.grpchat#room_1#c1' }, 'clientMsgId'],
  ['chat.grpchat', { roomId: 'room_1', text: 'x', clientMsgId: 'a#b' }, 'clientMsgId'],
  ['room.create', { name: 'x', clientId: 'a#b' }, 'clientId'],
  ['conf.schedule', { subject: 'x', clientId: 'a#b' }, 'clientId'],
  ['presence.subscribe', { targets: ['sip:bob@contoso.com'], clientId: '#' }, 'clientId'],
  ['room.create', { name: 'x', category: '*' }, 'category'],
  ['room.create', { name: 'x', category: 'sales#emea' }, 'category'],
  ['admin.category.put', { category: '*', creators: ['*'] }, 'category'],
  ['chat.chansrch', { category: 'a*' }, 'category'],
] as const)('%s with a reserved character is a 400 naming the field (%j)', (action, args, field) => {
  expect(refusedField(action, args)).toBe(field);
});

test('ids and categories without reserved characters pass, and creators may still be "*"', () => {
  expect(() => parse('im.send', { to: 'sip:bob@contoso.com', text: 'x', clientMsgId: 'c-1.2_3:4' })).not.toThrow();
  expect(() => parse('room.create', { name: 'x', category: 'sales-emea', clientId: 'r-1' })).not.toThrow();
  expect(() => parse('admin.category.put', { category: 'sales', creators: ['*'] })).not.toThrow();
});

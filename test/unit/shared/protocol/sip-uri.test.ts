import { identitySchema } from '../../../../shared/auth/identity';
import { commandSchemas } from '../../../../shared/protocol/commands';
import { validateArgs } from '../../../../shared/protocol/envelope';

/** Item 11: every SIP URI is normalised once, at the schema, so stored lists and identities compare equal. */
describe('SIP URIs are lower-cased at the schema, for every command', () => {
  test('conf.schedule invitees and presenters', () => {
    const args = validateArgs(commandSchemas['conf.schedule'], { subject: 's', invitees: ['sip:Bob@Contoso.com'], presenters: ['SIP:Carol@CONTOSO.com'] });
    expect(args.invitees).toEqual(['sip:bob@contoso.com']);
    expect(args.presenters).toEqual(['sip:carol@contoso.com']);
  });

  test.each([
    ['conf.admit', { confId: 'c', uri: 'sip:Bob@Contoso.com' }, (a: Record<string, unknown>) => a.uri],
    ['conf.deny', { confId: 'c', uri: 'sip:Bob@Contoso.com' }, (a: Record<string, unknown>) => a.uri],
    ['admin.deleteUser', { uri: 'sip:Bob@Contoso.com' }, (a: Record<string, unknown>) => a.uri],
    ['im.send', { to: 'sip:Bob@Contoso.com', text: 'hi' }, (a: Record<string, unknown>) => a.to],
    ['im.send', { to: ['sip:Bob@Contoso.com'], text: 'hi' }, (a: Record<string, unknown>) => (a.to as string[])[0]],
    ['presence.subscribe', { targets: ['sip:Bob@Contoso.com'] }, (a: Record<string, unknown>) => (a.targets as string[])[0]],
    ['room.invite', { roomId: 'r', uris: ['sip:Bob@Contoso.com'] }, (a: Record<string, unknown>) => (a.uris as string[])[0]],
  ] as const)('%s', (action, raw, pick) => {
    expect(pick(validateArgs(commandSchemas[action], raw) as Record<string, unknown>)).toBe('sip:bob@contoso.com');
  });

  test('the identity (as from a token) is lower-cased by the same schema', () => {
    expect(identitySchema.parse({ uri: 'sip:Alice@Contoso.COM', kind: 'enterprise', name: 'Alice', device: 'desktop' }).uri).toBe('sip:alice@contoso.com');
  });

  test('a malformed URI is still refused', () => {
    expect(() => validateArgs(commandSchemas['conf.admit'], { confId: 'c', uri: 'Bob@Contoso.com' })).toThrow(/SIP URI/);
  });
});

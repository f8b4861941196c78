import { domainOf, identitySchema, sipUri } from '../../../../shared/auth/identity';

describe('domainOf', () => {
  it('is the part of a SIP URI after the @', () => {
    expect(domainOf('sip:alice@contoso.com')).toBe('contoso.com');
  });

  it('is lowercased', () => {
    expect(domainOf('sip:Alice@Contoso.COM')).toBe('contoso.com');
  });

  it('uses the last @ of the URI', () => {
    expect(domainOf('sip:odd@name@fabrikam.com')).toBe('fabrikam.com');
  });
});

describe('sipUri', () => {
  it.each(['sip:alice@contoso.com', 'sip:bob.smith@fabrikam.co.uk'])('accepts a SIP URI (%s)', (uri) => {
    expect(sipUri.safeParse(uri).success).toBe(true);
  });

  it.each(['alice@contoso.com', 'sip:alice', 'sip:@contoso.com', 'sip:alice@', 'sip:al ice@contoso.com', 'sip:a@b@c', ''])(
    'refuses what is not a SIP URI (%p)',
    (uri) => {
      expect(sipUri.safeParse(uri).success).toBe(false);
    },
  );

  it('refuses URIs longer than 256 characters', () => {
    expect(sipUri.safeParse(`sip:${'a'.repeat(250)}@contoso.com`).success).toBe(false);
  });
});

describe('identitySchema', () => {
  it('accepts a complete identity', () => {
    const identity = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'web' };

    expect(identitySchema.parse(identity)).toEqual(identity);
  });

  it('refuses an unknown kind or device', () => {
    expect(identitySchema.safeParse({ uri: 'sip:alice@contoso.com', kind: 'root', name: 'A', device: 'web' }).success).toBe(false);
    expect(identitySchema.safeParse({ uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'A', device: 'fax' }).success).toBe(false);
  });
});

import { ConfigError, loadConfig, requireJwtSecret } from '../../../shared/config';

const SECRET = 'a-test-secret-of-32-characters!!';

/** Runs `act`, expecting a ConfigError, and returns its message. */
function configErrorFrom(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('loadConfig', () => {
  it('every name has the default of the SPEC', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: SECRET });

    // The SPEC's names and defaults; settings of our own may be added beside them.
    expect(config).toMatchObject({
      AUTH_JWT_SECRET: SECRET,
      HOME_DOMAIN: 'contoso.com',
      CONVERSATION_IDLE_SECONDS: 900,
      CONFERENCE_EMPTY_GRACE_SECONDS: 1200,
      CONFERENCE_NO_ENTERPRISE_SECONDS: 5400,
      CONFERENCE_NO_JOIN_SECONDS: 86400,
      CONFERENCE_EXPIRY_SECONDS: 1209600,
      CONTENT_GRACE_SECONDS: 1296000,
      PRESENCE_SUBSCRIPTION_SECONDS: 3600,
      COMPLIANCE_EXPORT_SECONDS: 60,
    });
  });

  it('our own settings have their documented defaults', () => {
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET })).toMatchObject({
      TABLE_NAME: 'uc-main',
      SCHEDULE_GROUP: 'uc-timers',
      COMPLIANCE_EXPORT_DIR: '.data/compliance',
      CONNECTION_TTL_SECONDS: 7200,
      IM_MAX_MESSAGE_BYTES: 4000,
      CHAT_MAX_MESSAGE_BYTES: 4000,
      CHAT_HISTORY_PAGE_SIZE: 50,
      FANOUT_CONCURRENCY: 64,
    });
  });

  it('the management endpoint is optional', () => {
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET }).WS_MANAGEMENT_ENDPOINT).toBeUndefined();
  });

  it('numbers from the environment are coerced from strings', () => {
    const config = loadConfig({
      AUTH_JWT_SECRET: SECRET,
      CONVERSATION_IDLE_SECONDS: '2',
      CONFERENCE_NO_ENTERPRISE_SECONDS: '5',
      CHAT_MAX_MESSAGE_BYTES: '1024',
      CHAT_HISTORY_PAGE_SIZE: '100',
      FANOUT_CONCURRENCY: '4',
    });

    expect(config.CONVERSATION_IDLE_SECONDS).toBe(2);
    expect(config.CONFERENCE_NO_ENTERPRISE_SECONDS).toBe(5);
    expect(config.CHAT_MAX_MESSAGE_BYTES).toBe(1024);
    expect(config.CHAT_HISTORY_PAGE_SIZE).toBe(100);
    expect(config.FANOUT_CONCURRENCY).toBe(4);
  });

  it('names and strings from the environment override the defaults', () => {
    const config = loadConfig({
      AUTH_JWT_SECRET: SECRET,
      HOME_DOMAIN: 'fabrikam.com',
      TABLE_NAME: 'uc-test',
      WS_MANAGEMENT_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      COMPLIANCE_EXPORT_DIR: '/tmp/export',
    });

    expect(config.HOME_DOMAIN).toBe('fabrikam.com');
    expect(config.TABLE_NAME).toBe('uc-test');
    expect(config.WS_MANAGEMENT_ENDPOINT).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/prod');
    expect(config.COMPLIANCE_EXPORT_DIR).toBe('/tmp/export');
  });

  it('unrelated environment variables are ignored', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: SECRET, PATH: '/usr/bin', HOME: '/root' });

    expect(config).not.toHaveProperty('PATH');
    expect(config).not.toHaveProperty('HOME');
  });

  it('the secret is optional when loading: only the function that verifies tokens requires it', () => {
    expect(loadConfig({}).AUTH_JWT_SECRET).toBeUndefined();
  });

  it('requireJwtSecret refuses a missing secret with a ConfigError naming AUTH_JWT_SECRET', () => {
    const config = loadConfig({});

    const message = configErrorFrom(() => requireJwtSecret(config));

    expect(message).toContain('AUTH_JWT_SECRET is required');
  });

  it('requireJwtSecret returns the configured secret', () => {
    expect(requireJwtSecret(loadConfig({ AUTH_JWT_SECRET: SECRET }))).toBe(SECRET);
  });

  it('a secret shorter than 16 characters is a ConfigError naming AUTH_JWT_SECRET', () => {
    const message = configErrorFrom(() => loadConfig({ AUTH_JWT_SECRET: 'short' }));

    expect(message).toContain('AUTH_JWT_SECRET must be at least 16 characters');
  });

  it.each([
    ['CONVERSATION_IDLE_SECONDS', 'abc'],
    ['CONVERSATION_IDLE_SECONDS', '0'],
    ['CONVERSATION_IDLE_SECONDS', '-5'],
    ['CONFERENCE_EXPIRY_SECONDS', '1.5'],
    ['FANOUT_CONCURRENCY', 'many'],
    ['CHAT_HISTORY_PAGE_SIZE', '101'],
    ['CHAT_MAX_MESSAGE_BYTES', '0'],
    ['TABLE_NAME', 'ab'],
    ['HOME_DOMAIN', ''],
    ['WS_MANAGEMENT_ENDPOINT', 'not a url'],
  ])('a bad value is a ConfigError naming the variable (%s=%p)', (name, value) => {
    const message = configErrorFrom(() => loadConfig({ AUTH_JWT_SECRET: SECRET, [name]: value }));

    expect(message).toContain(`${name}:`);
  });

  it('every bad variable is named in one error', () => {
    const message = configErrorFrom(() =>
      loadConfig({ AUTH_JWT_SECRET: 'short', CONVERSATION_IDLE_SECONDS: 'soon', FANOUT_CONCURRENCY: '-1', CHAT_HISTORY_PAGE_SIZE: '1000', TABLE_NAME: 'x' }),
    );

    expect(message).toMatch(/^invalid configuration: /);
    for (const name of ['AUTH_JWT_SECRET', 'CONVERSATION_IDLE_SECONDS', 'FANOUT_CONCURRENCY', 'CHAT_HISTORY_PAGE_SIZE', 'TABLE_NAME']) {
      expect(message).toContain(`${name}:`);
    }
    expect(message).not.toContain('HOME_DOMAIN');
  });

  it('the error names the variable but never echoes the secret', () => {
    const message = configErrorFrom(() => loadConfig({ AUTH_JWT_SECRET: 'tooshort-secret' }));

    expect(message).not.toContain('tooshort-secret');
  });

  it('ConfigError is an Error named ConfigError', () => {
    const error = new ConfigError('x');

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });
});

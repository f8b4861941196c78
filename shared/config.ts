import * as z from 'zod/mini';
import { en } from 'zod/locales';

// zod/mini, not the full zod: every function reads this at init, and the full library's methods are most of a small
// function's bundle and init (docs/performance.md, "Bundles and init"). The English messages, as the full zod has them.
z.config(en());

/** A whole number from the environment (coerced from its string), at least 1 (at most `max`), or its default. */
const positiveInt = (fallback: number, max?: number) =>
  z._default(z.coerce.number().check(z.int(), z.positive(), ...(max === undefined ? [] : [z.maximum(max)])), fallback);
const nonNegativeInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);
const positiveNumber = (fallback: number) => z._default(z.coerce.number().check(z.positive()), fallback);

/** A whole number of seconds from the environment, e.g. `CONVERSATION_IDLE_SECONDS=2` in a test. */
const seconds = (fallback: number) => positiveInt(fallback);

/** Every name and duration of SPEC.md, read from the environment once and validated. */
const configSchema = z.object({
  /** Only the authorizer holds it (see requireJwtSecret); the local cloud sets a development default. */
  AUTH_JWT_SECRET: z.optional(z.string().check(z.minLength(16, 'AUTH_JWT_SECRET must be at least 16 characters'))),
  HOME_DOMAIN: z._default(z.string().check(z.minLength(1)), 'contoso.com'),
  TABLE_NAME: z._default(z.string().check(z.minLength(3)), 'uc-main'),
  /** The API Gateway management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  WS_MANAGEMENT_ENDPOINT: z.optional(z.url()),
  /** The web app's address (SPEC §9): a meeting's `joinUrl` is `{WEB_APP_URL}/join/{confId}`. The CDK stack sets it to the
   * CloudFront distribution, the local cloud to its own address; without it `conf.schedule` and `conf.list` cannot link. */
  WEB_APP_URL: z.optional(z.url()),
  CONVERSATION_IDLE_SECONDS: seconds(900),
  CONFERENCE_EMPTY_GRACE_SECONDS: seconds(1200),
  CONFERENCE_NO_ENTERPRISE_SECONDS: seconds(5400),
  CONFERENCE_NO_JOIN_SECONDS: seconds(86400),
  CONFERENCE_EXPIRY_SECONDS: seconds(1209600),
  CONTENT_GRACE_SECONDS: seconds(1296000),
  PRESENCE_SUBSCRIPTION_SECONDS: seconds(3600),
  /** How long a user's explicit availability and note last unless chosen again (SPEC §9; default 12 h). */
  PRESENCE_STATE_SECONDS: seconds(43200),
  /** Presence quotas per user (docs/protocol.md, "Presence quotas"): live subscriptions held, targets watched over all of
   * them (each is one index item the target's every change reads), and targets of one subscription. Over one, 403. */
  PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: positiveInt(20),
  PRESENCE_MAX_WATCHED_TARGETS_PER_USER: positiveInt(1000),
  PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION: positiveInt(200),
  COMPLIANCE_EXPORT_SECONDS: seconds(60),
  COMPLIANCE_EXPORT_DIR: z._default(z.string(), '.data/compliance'),
  /** The compliance adapter's file format (docs/compliance.md); with COMPLIANCE_BUCKET set, files go to S3. */
  COMPLIANCE_ADAPTER: z._default(z.enum(['xml', 'jsonl']), 'xml'),
  COMPLIANCE_BUCKET: z.optional(z.string().check(z.minLength(3), z.maxLength(63))),
  /** Connect tokens (shared/auth/tokens.ts): the longest lifetime accepted (`exp - iat`), and how far ahead of the
   * clock `iat` may be. */
  TOKEN_MAX_LIFETIME_SECONDS: seconds(86400),
  TOKEN_CLOCK_SKEW_SECONDS: nonNegativeInt(60),
  /** How long a connection record lives: API Gateway's 2-hour connection limit. */
  CONNECTION_TTL_SECONDS: seconds(7200),
  /** UTF-8 bytes of a message's text: 4,000, so the largest valid `im.send` / `chat.grpchat` fits in one 32 KB client
   * frame even when every byte is one JSON escapes as `\uXXXX` (6 bytes; test/unit/shared/protocol/frame-budget.test.ts). */
  IM_MAX_MESSAGE_BYTES: positiveInt(4000),
  CHAT_MAX_MESSAGE_BYTES: positiveInt(4000),
  CHAT_HISTORY_PAGE_SIZE: positiveInt(50, 100),
  /** Chat files (`chat.file.upload`): the largest file, the bucket, and how long a presigned URL lives
   * (SigV4 presigned URLs allow at most 7 days). */
  CHAT_MAX_FILE_BYTES: positiveInt(10 * 1024 * 1024),
  FILES_BUCKET: z._default(z.string().check(z.minLength(3), z.maxLength(63)), 'uc-files'),
  FILE_URL_SECONDS: positiveInt(300, 604800),
  /** EventBridge Scheduler: the group of the app's timers, the timer function they invoke, the role
   * Scheduler assumes, and the dead-letter queue of firings it could not deliver. */
  SCHEDULE_GROUP: z._default(z.string().check(z.minLength(1)), 'uc-timers'),
  TIMER_FUNCTION_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  SCHEDULER_ROLE_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  TIMER_DLQ_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  COMPLIANCE_QUEUE_URL: z.optional(z.url()),
  /** Commands running at once in one process before the next is answered 503 (SPEC §6 overload). */
  MAX_IN_FLIGHT_COMMANDS: positiveInt(1000),
  /** Rate limits (SPEC §2, 429): commands per second per connection and per user, in one process (docs/reliability.md);
   * a bucket holds RATE_LIMIT_BURST_SECONDS of them, the burst a client may send at once. Every frame is charged, malformed
   * ones and unknown actions included, except `ping`, which has a bucket of its own per connection
   * (RATE_LIMIT_PINGS_PER_CONNECTION), so a limited client can still keep its connection alive. */
  RATE_LIMIT_PER_CONNECTION: positiveNumber(100),
  RATE_LIMIT_PER_USER: positiveNumber(200),
  RATE_LIMIT_BURST_SECONDS: positiveNumber(2),
  RATE_LIMIT_PINGS_PER_CONNECTION: positiveNumber(10),
  /** Quotas (issue 17 item 5; docs/protocol.md, "Limits and quotas"): rooms a user follows, rooms a user manages (a
   * creator manages the rooms they create), files uploaded to one room, unseen chat invitations a user holds (those
   * `chat.getinv` has not shown yet). Each is checked with a bounded query or a count kept on an item, and refused
   * with 403 QuotaExceeded naming it. */
  MAX_FOLLOWED_ROOMS: positiveInt(500),
  MAX_ROOMS_PER_USER: positiveInt(200),
  MAX_FILES_PER_ROOM: positiveInt(10_000),
  MAX_PENDING_INVITATIONS: positiveInt(100),
  /** Parallel postToConnection calls of one fan-out. */
  FANOUT_CONCURRENCY: positiveInt(64),
  /** Parallel `presence.notify` posts of one presence publish: one function posts to every watcher (no fan-out tier),
   * so up to the management API client's socket pool (256), not FANOUT_CONCURRENCY's (issue 21). */
  PRESENCE_FANOUT_CONCURRENCY: positiveInt(256),
  /** The fan-out tier (issue 21; docs/architecture.md, "Fan-out tier"): a chat post to more connections than
   * FANOUT_DIRECT_MAX is answered once stored and delivered by fan-out workers, in shards of FANOUT_SHARD_SIZE
   * connections queued on FANOUT_QUEUE_URL; up to it, the chat function posts itself. */
  FANOUT_DIRECT_MAX: nonNegativeInt(100),
  FANOUT_SHARD_SIZE: positiveInt(50, 1000),
  FANOUT_QUEUE_URL: z.optional(z.url()),
  /** Bounds on one AWS call (docs/reliability.md, "Fault injection"): an attempt that has no answer after its
   * *_REQUEST_TIMEOUT_MS (or no connection after SDK_CONNECT_TIMEOUT_MS) fails with TimeoutError, and a call makes
   * *_MAX_ATTEMPTS attempts at most. DynamoDB (the SDK's standard mode: throttling, 5xx and timeouts retried with
   * backoff): 3 attempts of 4 s stay under the functions' 15 s timeout, so a hung store is a 503, not a dead
   * invocation. Management API: GetConnection and DeleteConnection likewise; a postToConnection is sent again only
   * when surely not delivered (429, 5xx, no connection), never after a timeout, so one hung post holds its fan-out
   * (and the sender's answer) 5 s at most. The connect timeout stays above TCP's 1 s first SYN retransmission and
   * also counts the wait for a free pooled socket, so a busy (not dead) endpoint does not trip it. */
  DYNAMODB_REQUEST_TIMEOUT_MS: positiveInt(4000),
  DYNAMODB_MAX_ATTEMPTS: positiveInt(3),
  MANAGEMENT_API_REQUEST_TIMEOUT_MS: positiveInt(5000),
  MANAGEMENT_API_MAX_ATTEMPTS: positiveInt(2),
  SDK_CONNECT_TIMEOUT_MS: positiveInt(3000),
  /** SQS (compliance events) and Scheduler (timers): the SDK's 3 attempts (standard mode), each bounded. A repeated
   * send after a timeout is harmless: the compliance store keeps one event per eventId, a schedule that exists
   * is updated. 3 × 3 s leaves room under the functions' 15 s for the store calls before. */
  SQS_REQUEST_TIMEOUT_MS: positiveInt(3000),
  SCHEDULER_REQUEST_TIMEOUT_MS: positiveInt(3000),
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment, failing fast with every bad variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** The token secret, for the one function that verifies tokens; its absence fails the cold start. */
export function requireJwtSecret(config: Config): string {
  return requireSetting(config, 'AUTH_JWT_SECRET');
}

/** A setting only some functions need; its absence fails at first use with the variable named. */
export function requireSetting<K extends keyof Config>(config: Config, name: K): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined || value === null || value === '') throw new ConfigError(`invalid configuration: ${String(name)} is required`);
  return value as NonNullable<Config[K]>;
}

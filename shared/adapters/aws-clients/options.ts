import type { Config } from '../../config';

/**
 * The SDK clients, one file per client (./dynamodb.ts, ./scheduler.ts, ./sqs.ts, ./s3.ts, ./management-api.ts)
 * so that a function's bundle carries only the clients it imports: esbuild cannot drop an unused client from
 * a shared module (the SDK packages are CommonJS). Each factory builds its client from the `Config` given by the
 * function's composition root (functions/lib/compose/), once per process (module scope on Lambda: kept
 * between invocations), and installs the translation of AWS errors into the domain's (../aws-errors.ts).
 * The endpoint comes from AWS_ENDPOINT_URL when set (the local cloud, LocalStack).
 */

/** Sockets kept alive between invocations; more than the SDK's default 50, for parallel fan-out. */
export const KEEP_ALIVE_AGENT = { keepAlive: true, maxSockets: 256 } as const;

/**
 * A hung request times out (`requestTimeoutMs`) and is retried by the SDK within its attempts, so it ends in a
 * 503, not a dead invocation; a connection not made within SDK_CONNECT_TIMEOUT_MS fails the same way.
 */
export function requestHandler(config: Pick<Config, 'SDK_CONNECT_TIMEOUT_MS'>, requestTimeoutMs: number, agent?: typeof KEEP_ALIVE_AGENT) {
  return {
    ...(agent ? { httpAgent: agent, httpsAgent: agent } : {}),
    requestTimeout: requestTimeoutMs,
    throwOnRequestTimeout: true,
    connectionTimeout: config.SDK_CONNECT_TIMEOUT_MS,
  };
}

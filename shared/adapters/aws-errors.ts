import type { MiddlewareStack } from '@smithy/types';
import { DependencyThrottledError, DependencyUnavailableError } from '../errors';

/**
 * AWS errors at the adapter boundary. Every SDK client the app builds (shared/adapters/aws-clients.ts) carries
 * `translateAwsErrors`, so what still fails after the SDK's own retries for a reason on the service's side
 * reaches the domain and the command handler as the domain's own error (a 503), never as an SDK error.
 * What a caller decides on (a failed condition, GoneException, ResourceNotFound) passes through unchanged and
 * is handled inside the adapter. No SDK client is imported here: errors are recognised by name and metadata.
 */

/** A DynamoDB conditional write whose condition did not hold (the adapters answer false or undefined). */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** The services' "slow down" answers: DynamoDB's, Scheduler's, SQS's, S3's and the management API's (any 429). */
export function isThrottling(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (failure?.$metadata?.httpStatusCode === 429) return true;
  return ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'ThrottlingError', 'TooManyRequestsException', 'SlowDown'].includes(failure?.name ?? '');
}

/**
 * Any AWS call that still fails after the SDK's retries for a reason on the service's side: throttling, a 5xx
 * (`$fault: 'server'`), a timeout or a dropped connection. The command may be retried as it is (503).
 */
export function isTransientAwsFailure(error: unknown): boolean {
  if (error instanceof DependencyUnavailableError) return true;
  if (isThrottling(error)) return true;
  const failure = error as { name?: string; code?: string; $fault?: string; $metadata?: unknown } | undefined;
  if (failure?.name === 'TimeoutError') return true;
  if (failure?.code !== undefined && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(failure.code)) return true;
  return failure?.$fault === 'server' && failure.$metadata !== undefined;
}

/** The domain's error for an SDK error, the original as its `cause`; anything else is returned as it is. */
export function translateAwsError(error: unknown, dependency: string): unknown {
  if (error instanceof DependencyUnavailableError || !isTransientAwsFailure(error)) return error;
  return isThrottling(error) ? new DependencyThrottledError(dependency, { cause: error }) : new DependencyUnavailableError(dependency, { cause: error });
}

/** The original SDK error behind a translated one (adapters that decide on its details, e.g. post retries). */
export function awsCause(error: unknown): unknown {
  return error instanceof DependencyUnavailableError ? error.cause : error;
}

/**
 * Installs the translation on a client: outermost (the initialize step, first), so it sees what is left after
 * the SDK's retries, and every command of the client goes through it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any client's stack: the middleware only rethrows.
export function translateAwsErrors(client: { readonly middlewareStack: MiddlewareStack<any, any> }, dependency: string): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw translateAwsError(error, dependency);
      }
    },
    { step: 'initialize', priority: 'high', name: 'translateAwsErrors', override: true },
  );
}

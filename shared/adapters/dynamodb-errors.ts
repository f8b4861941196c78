import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** DynamoDB's "slow down" answers, after the SDK's own retries: the client should retry later (503). */
export function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  return ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'ThrottlingError'].includes(name);
}

/**
 * Any AWS call that still fails after the SDK's retries for a reason on the service's side: throttling, a 5xx
 * (`$fault: 'server'`), a timeout or a dropped connection. The command may be retried as it is (503).
 */
export function isTransientAwsFailure(error: unknown): boolean {
  if (isThrottling(error)) return true;
  const failure = error as { name?: string; code?: string; $fault?: string; $metadata?: unknown } | undefined;
  if (failure?.name === 'TimeoutError') return true;
  if (failure?.code !== undefined && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(failure.code)) return true;
  return failure?.$fault === 'server' && failure.$metadata !== undefined;
}

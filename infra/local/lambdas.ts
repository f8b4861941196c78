/**
 * The local cloud's Lambda host: it runs the app's real handler modules (`functions/*.ts`) in this process.
 * The gateway, the Scheduler and the SQS poller invoke functions through it, by name or by ARN.
 */
export interface LambdaInvoker {
  /** Invokes the function with the event, as Lambda does for a synchronous invocation; rejects when the handler throws. */
  invoke(functionNameOrArn: string, event: unknown): Promise<unknown>;
}

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export function localFunctionArn(functionName: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
}

/** `arn:aws:lambda:region:account:function:name[:qualifier]` or a bare name → the name. */
export function functionNameFromArn(functionNameOrArn: string): string {
  if (!functionNameOrArn.startsWith('arn:')) return functionNameOrArn;
  const parts = functionNameOrArn.split(':');
  return parts[6] ?? functionNameOrArn;
}

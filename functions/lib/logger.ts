import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

/** Keys every log line written while one command runs carries (docs/reliability.md, "Logs"). */
export type LogKeys = Record<string, string | number | undefined>;

const scope = new AsyncLocalStorage<LogKeys>();

/**
 * Powertools' logger, with the keys of the command being run (`withLogKeys`) added to every line it writes,
 * wherever the line is written from. `appendKeys` would not do: its keys belong to the process (per invocation
 * only under Lambda's multi-concurrency), and the local cloud runs many commands at once in one process, so
 * one command's correlation id would end up on another's lines. AsyncLocalStorage follows each command's
 * own async calls.
 */
class ScopedLogger extends Logger {
  protected override processLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): void {
    const keys = scope.getStore();
    // First, so a key given to the call itself wins.
    super.processLogItem(logLevel, input, keys ? ([{ ...keys }, ...extraInput] as LogItemExtraInput) : extraInput);
  }
}

/**
 * One structured logger per process (JSON lines on stdout). Never log a token, a message or note text, a file
 * name or content: commands are logged by correlation id, connection, caller URI, action, rid, status and
 * duration (functions/lib/command-handler.ts).
 */
export const logger: Logger = new ScopedLogger({ serviceName: 'uc-backend' });

/** Runs `work` with `keys` on every log line it writes; the object may be filled in as the work learns more. */
export function withLogKeys<T>(keys: LogKeys, work: () => Promise<T>): Promise<T> {
  return scope.run(keys, work);
}

/**
 * An error for a log line: a copy with the name, message and stack only, never the other properties an SDK
 * error carries (an item, a response) nor its cause.
 */
export function loggableError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(typeof error === 'string' ? error : 'a non-Error value was thrown');
  const copy = new Error(error.message);
  copy.name = error.name;
  copy.stack = error.stack;
  return copy;
}

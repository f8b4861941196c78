import type { FileStorage } from '../../../shared/chat/ports';
import type { ComplianceQueue } from '../../../shared/compliance/ports';
import type { Timers } from '../../../shared/ports';

/**
 * Ports built at their first call, for what a function reaches only on a rare path: `build` may read settings
 * only that path needs, or `import()` its adapter so the SDK client is not loaded at the function's init. A
 * build that fails is tried again at the next call.
 */
function firstUse<T>(build: () => T | Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= Promise.resolve()
      .then(build)
      .catch((error: unknown) => {
        built = undefined;
        throw error;
      });
    return built;
  };
}

export function timersOnFirstUse(build: () => Timers | Promise<Timers>): Timers {
  const timers = firstUse(build);
  return {
    arm: async (timer) => (await timers()).arm(timer),
    cancel: async (timer) => (await timers()).cancel(timer),
    recurring: async (name, periodSeconds, input) => (await timers()).recurring(name, periodSeconds, input),
  };
}

export function complianceOnFirstUse(build: () => ComplianceQueue | Promise<ComplianceQueue>): ComplianceQueue {
  const compliance = firstUse(build);
  return {
    publish: async (event, whenUnsent) => (await compliance()).publish(event, whenUnsent),
    publishOutboxed: async (event, whenUnsent) => (await compliance()).publishOutboxed(event, whenUnsent),
  };
}

/**
 * For a function that never arms a timer (`$connect`: presence only publishes there): it carries no Scheduler
 * client and has no Scheduler permission (infra/functions.ts), so a call is a bug, said plainly.
 */
export function noTimers(functionName: string): Timers {
  const refuse = async (): Promise<never> => {
    throw new Error(`the ${functionName} function arms no timers (functions/lib/compose/)`);
  };
  return { arm: refuse, cancel: refuse, recurring: refuse };
}

export function filesOnFirstUse(build: () => FileStorage | Promise<FileStorage>): FileStorage {
  const files = firstUse(build);
  return {
    uploadUrl: async (file, expiresInSeconds, now) => (await files()).uploadUrl(file, expiresInSeconds, now),
    downloadUrl: async (file, expiresInSeconds, now) => (await files()).downloadUrl(file, expiresInSeconds, now),
  };
}

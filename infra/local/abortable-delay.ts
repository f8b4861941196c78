/**
 * Resolves after `ms`, or at once when `signal` aborts (or has already aborted): the pause of a loop that a stop
 * must end without waiting (the SQS pollers, the external-endpoint driver). Never rejects.
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

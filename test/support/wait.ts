import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The one polling helper of the tests (unit, integration, end to end): polls until `check` returns a value
 * (anything but `undefined` or `false`), or fails after `timeoutMs` naming what it waited for. Events are
 * awaited this way, never slept on. `pollMs` is how often it looks (20 ms; unit tests with fakes use less).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  pollMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * How long this process stood still while a test ran: the longest event-loop delay seen since `start()`.
 * A timer of the code under test is late by at most that much (plus the sampling resolution), so a test that
 * checks "within N ms of its time" allows N + `maxMs()` and a stalled machine cannot fail it, while a real
 * delay in the code still does.
 */
export class StallMeter {
  private readonly histogram: IntervalHistogram;
  private static readonly RESOLUTION_MS = 10;

  private constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: StallMeter.RESOLUTION_MS });
    this.histogram.enable();
  }

  static start(): StallMeter {
    return new StallMeter();
  }

  /** The longest stall so far, in ms, with the sampling resolution added (the histogram is in ns). */
  maxMs(): number {
    return this.histogram.max / 1e6 + StallMeter.RESOLUTION_MS;
  }

  stop(): void {
    this.histogram.disable();
  }
}

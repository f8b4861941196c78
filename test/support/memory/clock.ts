import type { Clock } from '../../../shared/ports';

/** A clock the test moves: `now()` is whatever the test last set; nothing advances by itself. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }

  advance(ms: number): number {
    this.current += ms;
    return this.current;
  }
}

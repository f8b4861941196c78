/**
 * The outcome of a presence retry that ran out without failing the caller: `retryOnConflict` throws
 * `new KeptChanging()`, and `.catch(givenUp(value))` turns that (and only that) into the value.
 * Used where losing every race is not the caller's error (a detach that the next post repeats, a timer firing).
 */
export class KeptChanging extends Error {
  constructor() {
    super('kept changing');
    this.name = 'KeptChanging';
  }
}

export function givenUp<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof KeptChanging) return value;
    throw error;
  };
}

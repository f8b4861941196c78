import type { ClientEventName, ClientEvents, Handler } from './options';

/** The client's event handlers, per event and for every event; a handler that throws is reported as `error`. */
export class EventHub {
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();
  private readonly anyHandlers = new Set<(event: ClientEventName, payload: unknown) => void>();

  on<E extends ClientEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  onAny(handler: (event: ClientEventName, payload: unknown) => void): () => void {
    this.anyHandlers.add(handler);
    return () => this.anyHandlers.delete(handler);
  }

  emit<E extends ClientEventName>(event: E, payload: ClientEvents[E]): void {
    const handlers = [...(this.handlers.get(event) ?? [])].map((handler) => (value: ClientEvents[E]) => (handler as Handler<E>)(value));
    for (const any of this.anyHandlers) handlers.push((value) => any(event, value));
    for (const handler of handlers) {
      try {
        handler(payload);
      } catch (error) {
        if (event !== 'error') this.emit('error', { message: `a handler of ${event} threw`, cause: error });
      }
    }
  }
}

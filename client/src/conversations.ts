import type { CommandArgs, CommandResult, ImMessage, ServerEvents } from './protocol';
import type { ClientCore } from './requests';

/** How many message ids the feed remembers to drop a message `session.resume` brings again. */
const REMEMBERED_MESSAGES = 2000;

/**
 * IM as this client has seen it (issue 22 item 3): the `ts` of the newest IM seen, which every `session.resume` sends
 * as `imSince`, and the ids of the recent ones, so the messages a resume brings back (those at or after `imSince`)
 * are emitted as `im.message` once: only those this client never had. Live `im.message` events pass through as they
 * come (and are remembered).
 */
export class ImFeed {
  private readonly seen = new Set<string>();
  private newestTs?: number;
  /** Before any IM was seen: when the first connection opened (the client's clock, less a skew allowance). */
  private openedAt?: number;

  constructor(private readonly core: ClientCore) {}

  /** The `ts` of the newest IM this client saw (undefined: none yet). */
  get lastSeenTs(): number | undefined {
    return this.newestTs;
  }

  /** What `session.resume` is sent about IM: `imSince` from the newest IM seen, or from when this client first connected. */
  resumeArgs(): Pick<CommandArgs<'session.resume'>, 'imSince'> {
    const since = this.newestTs ?? this.openedAt;
    this.openedAt ??= Math.max(0, Date.now() - (this.core.options.imClockSkewMs ?? 5000));
    return since === undefined ? {} : { imSince: since };
  }

  /** A live `im.message`: remembered; true (emit it) unless this client already has it. */
  live(message: ServerEvents['im.message']): boolean {
    return this.remember(message.messageId, message.ts);
  }

  /** This client's own message, answered to `im.send`: it has it. */
  sent(result: CommandResult<'im.send'>): void {
    this.remember(result.messageId, result.ts);
  }

  /** The messages a resume brought (and the pages after its `imCursor`), emitted as `im.message` if new, oldest first. */
  async resumed(answer: Pick<CommandResult<'session.resume'>, 'imMessages' | 'imCursor'>, imSince: number | undefined): Promise<void> {
    const messages = [...(answer.imMessages ?? [])];
    for (let imCursor = answer.imCursor; imCursor !== undefined; ) {
      const next = await this.core.request('session.resume', { ...(imSince === undefined ? {} : { imSince }), imCursor });
      messages.push(...(next.imMessages ?? []));
      imCursor = next.imCursor;
    }
    for (const message of messages.sort((a, b) => a.ts - b.ts)) this.deliver(message);
  }

  private deliver(message: ImMessage): void {
    if (!this.remember(message.messageId, message.ts)) return;
    // As if delivered live: a resumed message is an `im.message` (without `newConversation`, which only the live one knows).
    this.core.events.emit('im.message', { ...message, newConversation: false });
  }

  /** Remembers a message; false if it was already known. */
  private remember(messageId: string, ts: number): boolean {
    if (this.newestTs === undefined || ts > this.newestTs) this.newestTs = ts;
    if (this.seen.has(messageId)) return false;
    this.seen.add(messageId);
    if (this.seen.size > REMEMBERED_MESSAGES) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

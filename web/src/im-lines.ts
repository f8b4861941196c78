import type { ImMessage, Person } from '../../client/src';

/** A line of a conversation as the IM view shows it: a message, the end of a conversation, or a notice. */
export type Line =
  | {
      readonly kind: 'message';
      readonly id: string;
      readonly conversationId: string;
      readonly from: Person;
      readonly text: string;
      readonly ts: number;
      readonly mine: boolean;
      readonly editedAt?: number;
      readonly retracted?: boolean;
    }
  | { readonly kind: 'ended'; readonly id: string; readonly ts: number; readonly reason: 'idle' | 'left' }
  | { readonly kind: 'notice'; readonly id: string; readonly ts: number; readonly text: string };

export type MessageLine = Extract<Line, { kind: 'message' }>;

/** A line of an IM message (live, sent, resumed or from history). */
export function lineOf(message: ImMessage, me: string): MessageLine {
  return {
    kind: 'message',
    id: message.messageId,
    conversationId: message.conversationId,
    from: message.from,
    text: message.retracted ? '' : message.text,
    ts: message.ts,
    mine: message.from.uri === me,
    ...(message.editedAt !== undefined ? { editedAt: message.editedAt } : {}),
    ...(message.retracted ? { retracted: true } : {}),
  };
}

/**
 * The lines of a conversation with more added (a page of history, a live or resumed message, a notice): each line
 * once, by id, in time order. A line held already stays, unless the one added is a later version of it (retracted,
 * or edited later): history read after a live message may know an edit the view missed, and never the other way.
 */
export function mergeLines(held: readonly Line[], added: readonly Line[]): Line[] {
  const byId = new Map(held.map((line) => [line.id, line] as const));
  let changed = false;
  for (const line of added) {
    const known = byId.get(line.id);
    if (known && !isLaterVersion(line, known)) continue;
    byId.set(line.id, line);
    changed = true;
  }
  if (!changed) return held as Line[];
  // A stable sort: lines of the same millisecond keep the order they came in.
  return [...byId.values()].sort((a, b) => a.ts - b.ts);
}

function isLaterVersion(line: Line, known: Line): boolean {
  if (line.kind !== 'message' || known.kind !== 'message') return false;
  if (known.retracted) return false;
  if (line.retracted) return true;
  return (line.editedAt ?? 0) > (known.editedAt ?? 0);
}

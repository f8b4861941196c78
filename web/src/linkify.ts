/**
 * Links in a message's text (issue 23 item 10): only `http:` and `https:` addresses become links; anything else
 * (`javascript:`, `data:`, `file:`…) stays plain text. Pure, so the rule is unit-tested without a browser
 * (test/unit/web/linkify.test.ts); rooms.tsx renders the parts (text nodes and anchors, never HTML).
 */

export type TextPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'link'; readonly text: string; readonly href: string };

/**
 * An address as people write it: the scheme, then everything up to a space or a character that cannot be in one.
 * Bidirectional controls (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) end it too: inside a link they could make
 * its text read as another address than the one it opens.
 */
const ADDRESS = /\bhttps?:\/\/[^\s<>"'`\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gi;
/** Punctuation that ends a sentence rather than the address: "see https://example.com." */
const TRAILING = /[.,;:!?]+$/;

/** The text cut into plain parts and links, in order; joined, the parts' texts are the text itself. */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let from = 0;
  for (const match of text.matchAll(ADDRESS)) {
    const start = match.index;
    const address = trimmed(match[0]);
    const href = safeHref(address);
    if (!href) continue;
    if (start > from) parts.push({ kind: 'text', text: text.slice(from, start) });
    parts.push({ kind: 'link', text: address, href });
    from = start + address.length;
  }
  if (from < text.length) parts.push({ kind: 'text', text: text.slice(from) });
  return merged(parts);
}

/** The address without the sentence's closing punctuation, nor a closing bracket it does not open itself. */
function trimmed(address: string): string {
  let end = address.replace(TRAILING, '');
  while (end.endsWith(')') && count(end, '(') < count(end, ')')) end = end.slice(0, -1).replace(TRAILING, '');
  return end;
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/** The address as a link target when it parses as http or https with a host; otherwise none. */
export function safeHref(address: string): string | undefined {
  try {
    const url = new URL(address);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

/** Neighbouring text parts as one (a skipped address leaves the text around it split). */
function merged(parts: readonly TextPart[]): TextPart[] {
  const out: TextPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + part.text };
    else out.push(part);
  }
  return out;
}

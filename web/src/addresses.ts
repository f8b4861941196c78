import { SIP_URI_MAX_LENGTH, SIP_URI_PATTERN } from '../../shared/protocol/sip-uri';

/** Most people a conversation starts with besides you (a conversation has at most 50: docs/protocol.md, "Instant messages"). */
export const MAX_IM_PEERS = 49;

/** `sip:alice@contoso.com` → `alice`. */
export function shortName(uri: string): string {
  const at = uri.indexOf('@');
  return uri.slice(uri.startsWith('sip:') ? 4 : 0, at < 0 ? undefined : at);
}

/** `alice@contoso.com` or `sip:alice@contoso.com`, as typed, to the SIP URI the server compares (lower case). */
export function toSipUri(input: string): string {
  const trimmed = input.trim().toLowerCase();
  return trimmed.startsWith('sip:') ? trimmed : `sip:${trimmed}`;
}

/**
 * What is wrong with one typed address, in words, checked as the server would (shared/protocol/sip-uri.ts) before
 * anything is sent; undefined when it is an address.
 */
export function addressProblem(typed: string): string | undefined {
  const shown = typed.trim();
  if (!shown) return 'Type an address, like bob@contoso.com.';
  const uri = toSipUri(shown);
  if (uri.length > SIP_URI_MAX_LENGTH) return `“${shorten(shown)}” is too long for an address (at most ${SIP_URI_MAX_LENGTH - 4} characters).`;
  if (!uri.slice(4).includes('@')) return `“${shown}” is not an address: write it like bob@contoso.com.`;
  if (!SIP_URI_PATTERN.test(uri)) return `“${shorten(shown)}” is not an address: write it like bob@contoso.com, with one @ and no spaces or quotes.`;
  return undefined;
}

/**
 * The people typed into one field (addresses between commas, semicolons or spaces) as SIP URIs, without repeats and
 * without your own; or what is wrong with them, in words.
 */
export function parseAddresses(input: string, me: string): { readonly uris: string[] } | { readonly problem: string } {
  const typed = input.split(/[\s,;]+/).filter((part) => part.length > 0);
  if (typed.length === 0) return { problem: addressProblem('')! };
  for (const part of typed) {
    const problem = addressProblem(part);
    if (problem) return { problem };
  }
  const uris = [...new Set(typed.map(toSipUri))].filter((uri) => uri !== me);
  if (uris.length === 0) return { problem: 'That is your own address: start a conversation with someone else.' };
  if (uris.length > MAX_IM_PEERS) return { problem: `A conversation has at most ${MAX_IM_PEERS + 1} people with you: remove ${uris.length - MAX_IM_PEERS} of the addresses.` };
  return { uris };
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

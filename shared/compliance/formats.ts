import { createHash } from 'node:crypto';
import type { ComplianceEvent } from './event';
import type { ExportBatch } from './ports';

/**
 * A batch's id from its events alone: the oldest command time (so archive files sort by time) and a hash
 * of the sorted event ids. The same events always make the same id, whatever order they were read in, so a
 * batch exported again after a crash lands on the same file or object, never a second copy.
 */
export function batchIdOf(events: readonly Pick<ComplianceEvent, 'eventId' | 'at'>[]): string {
  if (events.length === 0) throw new Error('a batch has at least one event');
  const ids = events.map((event) => event.eventId).sort();
  const hash = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32);
  const oldest = Math.min(...events.map((event) => event.at));
  return `${new Date(oldest).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${hash}`;
}

/** Events in archive order: by command time, then id, so a batch always renders to the same bytes. */
export function archiveOrder(events: readonly ComplianceEvent[]): ComplianceEvent[] {
  return [...events].sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
}

export const archiveFormatNames = ['xml', 'jsonl'] as const;
export type ArchiveFormatName = (typeof archiveFormatNames)[number];

/** How a batch becomes one file; the destination (directory, S3) is the archive adapter's business. */
export interface ArchiveFormat {
  readonly name: ArchiveFormatName;
  readonly extension: string;
  readonly contentType: string;
  render(batch: ExportBatch): string;
}

export const XML_NAMESPACE = 'urn:uc-backend:compliance:1';

/** The default format, documented in docs/compliance.md. */
export const xmlFormat: ArchiveFormat = {
  name: 'xml',
  extension: 'xml',
  contentType: 'application/xml',
  render(batch) {
    const events = archiveOrder(batch.events);
    const lines = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<complianceBatch xmlns="${XML_NAMESPACE}" id="${attr(batch.batchId)}" count="${events.length}">`,
    ];
    for (const event of events) {
      lines.push(`  <event id="${attr(event.eventId)}" type="${event.type}" at="${new Date(event.at).toISOString()}" atMs="${event.at}">`);
      lines.push(`    <actor uri="${attr(event.actor.uri)}" kind="${event.actor.kind}" name="${attr(event.actor.name)}"/>`);
      const name = event.target.name === undefined ? '' : ` name="${attr(event.target.name)}"`;
      // A name XML cannot carry (a room name, a meeting subject) is also kept exactly, in a `name` element.
      const exactName = event.target.name !== undefined && NOT_XML_CHAR.test(event.target.name) ? `>${textElement('name', '', event.target.name)}</target>` : '/>';
      lines.push(`    <target kind="${event.target.kind}" id="${attr(event.target.id)}"${name}${exactName}`);
      if (event.content !== undefined) lines.push(`    ${textElement('content', '', event.content)}`);
      for (const [key, value] of Object.entries(event.details ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
        lines.push(`    ${textElement('detail', ` name="${attr(key)}" type="${typeof value}"`, String(value))}`);
      }
      lines.push('  </event>');
    }
    lines.push('</complianceBatch>', '');
    return lines.join('\n');
  },
};

/** The second adapter's format: one JSON object per line, each carrying its batch id. */
export const jsonLinesFormat: ArchiveFormat = {
  name: 'jsonl',
  extension: 'jsonl',
  contentType: 'application/x-ndjson',
  render(batch) {
    return archiveOrder(batch.events)
      .map((event) => `${JSON.stringify({ batchId: batch.batchId, ...event })}\n`)
      .join('');
  },
};

export function archiveFormat(name: ArchiveFormatName): ArchiveFormat {
  return name === 'jsonl' ? jsonLinesFormat : xmlFormat;
}

// XML 1.0 allows tab, newline, carriage return and most of Unicode, but no other control characters,
// lone surrogates or U+FFFE/U+FFFF.
const NOT_XML_CHAR_SOURCE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.source;
const NOT_XML_CHAR = new RegExp(NOT_XML_CHAR_SOURCE);
const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR_SOURCE, 'g');

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * User text (content, details, a target's name) is kept exactly: when XML cannot carry it, as base64 of its
 * UTF-8, or, when it holds a lone surrogate (which UTF-8 cannot encode), as base64 of its UTF-16LE code units.
 */
function textElement(tag: string, attributes: string, value: string): string {
  if (LONE_SURROGATE.test(value)) return `<${tag}${attributes} encoding="base64-utf16le">${Buffer.from(value, 'utf16le').toString('base64')}</${tag}>`;
  if (NOT_XML_CHAR.test(value)) return `<${tag}${attributes} encoding="base64">${Buffer.from(value, 'utf8').toString('base64')}</${tag}>`;
  return `<${tag}${attributes}>${text(value)}</${tag}>`;
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Attribute values (ids, URIs, names from the token): also quotes, and the whitespace a parser would
 * normalize to spaces; a character XML cannot carry at all becomes U+FFFD.
 */
function attr(value: string): string {
  return text(value.replace(NOT_XML_CHARS, '\uFFFD'))
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

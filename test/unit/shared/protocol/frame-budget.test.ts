import type { z } from 'zod';
import { loadConfig } from '../../../../shared/config';
import { commandSchemas } from '../../../../shared/protocol/commands';
import { MAX_FRAME_BYTES, MAX_RESUME_ROOMS } from '../../../../shared/protocol/limits';

/**
 * SPEC §2 / issue 17 item 1: a client frame is at most 32 KB (32,768 bytes), so every command its schema accepts
 * must fit in one, written as JSON.stringify writes it (UTF-8; `"` and `\` escaped in 2 bytes, control characters
 * and lone surrogates as `\uXXXX`, 6 bytes). For every action this computes the largest frame a valid command
 * can take: every optional field present, every string at its cap in the costliest character its schema accepts,
 * every array at its cap, `rid` at its 128 characters, and text capped by the handler's byte limit
 * (IM_MAX_MESSAGE_BYTES, CHAT_MAX_MESSAGE_BYTES) at 6 bytes per byte.
 */

type Schema = z.core.$ZodType;
interface Def {
  readonly type: string;
  readonly checks?: ReadonlyArray<{ _zod: { def: { check: string; maximum?: number; value?: number; format?: string } } }>;
  readonly [key: string]: unknown;
}
const defOf = (schema: Schema): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const checksOf = (schema: Schema) => (defOf(schema).checks ?? []).map((check) => check._zod.def);

/** Characters by what JSON.stringify makes of them in UTF-8, costliest first. */
const PROBES: ReadonlyArray<readonly [string, number]> = [
  ['\u0001', 6],
  ['\ud800', 6],
  ['\u4e00', 3],
  ['"', 2],
  ['\\', 2],
  ['\n', 2],
  ['\u00e9', 2],
];
/** Small values of which one is valid for every string schema of the protocol (ids, URIs, MIME types, dates). */
const EXAMPLES = ['a', 'sip:a@b', 'text/plain', '2026-01-01T00:00:00Z', 'x'];

/** The most bytes one UTF-16 unit of a string valid for `schema` can take, probing every position of a valid example. */
function costPerUnit(schema: Schema): number {
  const parse = (value: string) => (schema as unknown as z.ZodType).safeParse(value).success;
  const example = EXAMPLES.find(parse);
  if (example === undefined) throw new Error('no example string is valid for this schema: add one to EXAMPLES');
  for (const [char, cost] of PROBES) {
    for (let at = 0; at <= example.length; at++) {
      if (parse(example.slice(0, at) + char + example.slice(at))) return cost;
    }
  }
  return 1;
}

interface Caps {
  /** A string field with no schema cap, checked by the handler in UTF-8 bytes. */
  readonly textBytes?: number;
  /** A record's entry cap (a refinement the schema walk cannot see). */
  readonly recordEntries?: number;
}

/** The largest JSON (in bytes) of a value `schema` accepts; Infinity when it has no cap. */
function worstBytes(schema: Schema, caps: Caps, path: string): number {
  const def = defOf(schema);
  switch (def.type) {
    case 'string': {
      const max = checksOf(schema).find((check) => check.check === 'max_length')?.maximum;
      const perUnit = costPerUnit(schema);
      if (max !== undefined) return 2 + max * perUnit;
      if (caps.textBytes !== undefined) return 2 + caps.textBytes * 6;
      // A date-time format has no cap of its own: its fraction of a second is unbounded.
      return Infinity;
    }
    case 'number': {
      const checks = checksOf(schema);
      const max = checks.find((check) => check.check === 'less_than')?.value;
      const min = checks.find((check) => check.check === 'greater_than')?.value;
      const integer = checks.some((check) => check.check === 'number_format' && (check.format === 'safeint' || check.format === 'int32'));
      if (!integer) return 24;
      const digits = (value: number | undefined, fallback: number) => (value === undefined ? fallback : String(Math.trunc(value)).length);
      return Math.max(digits(max, 16), digits(min, 17));
    }
    case 'boolean':
      return 5;
    case 'literal':
      return Math.max(...(def.values as unknown[]).map((value) => JSON.stringify(value).length));
    case 'enum':
      return Math.max(...Object.values(def.entries as Record<string, string>).map((value) => Buffer.byteLength(JSON.stringify(value))));
    case 'optional':
    case 'default':
    case 'nullable':
    case 'readonly':
      return Math.max(worstBytes(def.innerType as Schema, caps, path), def.type === 'nullable' ? 4 : 0);
    case 'pipe':
      return worstBytes(def.in as Schema, caps, path);
    case 'union':
      return Math.max(...(def.options as Schema[]).map((option) => worstBytes(option, caps, path)));
    case 'array': {
      const max = checksOf(schema).find((check) => check.check === 'max_length')?.maximum;
      if (max === undefined) return Infinity;
      return 2 + max * (worstBytes(def.element as Schema, caps, `${path}[]`) + 1);
    }
    case 'record': {
      if (caps.recordEntries === undefined) return Infinity;
      const entry = worstBytes(def.keyType as Schema, caps, `${path}{key}`) + 1 + worstBytes(def.valueType as Schema, caps, `${path}{value}`) + 1;
      return 2 + caps.recordEntries * entry;
    }
    case 'object': {
      const shape = def.shape as Record<string, Schema>;
      return 2 + Object.entries(shape).reduce((sum, [key, value]) => sum + Buffer.byteLength(JSON.stringify(key)) + 1 + worstBytes(value, capsFor(`${path}.${key}`), `${path}.${key}`) + 1, 0);
    }
    default:
      throw new Error(`${path}: no size rule for a ${def.type} schema`);
  }
}

const config = loadConfig({});
/** Caps that live outside the schemas, by field path. */
function capsFor(path: string): Caps {
  if (path === 'im.send.text') return { textBytes: config.IM_MAX_MESSAGE_BYTES };
  if (path === 'chat.grpchat.text') return { textBytes: config.CHAT_MAX_MESSAGE_BYTES };
  if (path === 'chat.edit.text') return { textBytes: config.CHAT_MAX_MESSAGE_BYTES };
  if (path === 'im.edit.text') return { textBytes: config.IM_MAX_MESSAGE_BYTES };
  if (path === 'conf.message.text') return { textBytes: config.IM_MAX_MESSAGE_BYTES };
  if (path === 'session.resume.since') return { recordEntries: MAX_RESUME_ROOMS };
  return {};
}

/** `{"action":"…","rid":"<128 costliest characters>", …arguments}`. */
function worstFrameBytes(action: string, schema: Schema): number {
  const envelope = Buffer.byteLength(JSON.stringify({ action, rid: '' })) + 128 * 6;
  // The arguments' braces are the envelope's, and each argument brings its comma: `,"key":value`.
  return envelope + worstBytes(schema, {}, action) - 2;
}

describe('every valid command fits in one 32 KB client frame (SPEC §2)', () => {
  test.each(Object.entries(commandSchemas))('%s', (action, schema) => {
    const bytes = worstFrameBytes(action, schema as unknown as Schema);
    expect(bytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  test('session.resume refuses more rooms than MAX_RESUME_ROOMS (the cap the size above counts on)', () => {
    const since = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`room_${index}`, index]));
    expect(commandSchemas['session.resume'].safeParse({ since: since(MAX_RESUME_ROOMS) }).success).toBe(true);
    expect(commandSchemas['session.resume'].safeParse({ since: since(MAX_RESUME_ROOMS + 1) }).success).toBe(false);
  });

  test('the size rule itself: a real largest command is no bigger than the computed bound', () => {
    const uri = `sip:${'"'.repeat(100)}@${'x'.repeat(150)}`.slice(0, 256);
    const args = { action: 'room.invite', rid: '\u0001'.repeat(128), roomId: '\u0001'.repeat(64), uris: Array.from({ length: 100 }, () => uri) };
    const parsed = commandSchemas['room.invite'].safeParse({ roomId: args.roomId, uris: args.uris });
    const actual = Buffer.byteLength(JSON.stringify(args));
    if (parsed.success) expect(actual).toBeLessThanOrEqual(worstFrameBytes('room.invite', commandSchemas['room.invite'] as unknown as Schema));
    expect(worstFrameBytes('ping', commandSchemas.ping as unknown as Schema)).toBe(Buffer.byteLength(JSON.stringify({ action: 'ping', rid: '\u0001'.repeat(128) })));
  });
});

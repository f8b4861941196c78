import type { ComplianceEvent } from '../../../../shared/compliance/event';
import { archiveFormat, batchIdOf, jsonLinesFormat, xmlFormat } from '../../../../shared/compliance/formats';

const event = (n: number, overrides: Partial<ComplianceEvent> = {}): ComplianceEvent => ({
  eventId: `chat.post:room_1:${n}`,
  type: 'chat.post',
  actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
  target: { kind: 'room', id: 'room_1', name: 'Design' },
  at: Date.UTC(2025, 0, 2, 3, 4, 5) + n,
  content: `message ${n}`,
  details: { seq: n },
  ...overrides,
});

describe('batchIdOf', () => {
  test('the same events make the same id in any order; the id starts with the oldest command time', () => {
    const events = [event(3), event(1), event(2)];
    const id = batchIdOf(events);
    expect(batchIdOf([...events].reverse())).toBe(id);
    expect(id).toMatch(/^20250102T030405Z-[0-9a-f]{32}$/);
  });

  test('another set of events makes another id', () => {
    expect(batchIdOf([event(1), event(2)])).not.toBe(batchIdOf([event(1), event(3)]));
    expect(batchIdOf([event(1), event(2)])).not.toBe(batchIdOf([event(1)]));
  });

  test('an empty batch has no id', () => {
    expect(() => batchIdOf([])).toThrow();
  });
});

describe('XML', () => {
  test('one element per event, oldest first, with actor, target, content and details', () => {
    const xml = xmlFormat.render({ batchId: 'b1', events: [event(2), event(1)] });
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<complianceBatch xmlns="urn:uc-backend:compliance:1" id="b1" count="2">',
        '  <event id="chat.post:room_1:1" type="chat.post" at="2025-01-02T03:04:05.001Z" atMs="1735787045001">',
        '    <actor uri="sip:alice@contoso.com" kind="enterprise" name="Alice"/>',
        '    <target kind="room" id="room_1" name="Design"/>',
        '    <content>message 1</content>',
        '    <detail name="seq" type="number">1</detail>',
        '  </event>',
        '  <event id="chat.post:room_1:2" type="chat.post" at="2025-01-02T03:04:05.002Z" atMs="1735787045002">',
        '    <actor uri="sip:alice@contoso.com" kind="enterprise" name="Alice"/>',
        '    <target kind="room" id="room_1" name="Design"/>',
        '    <content>message 2</content>',
        '    <detail name="seq" type="number">2</detail>',
        '  </event>',
        '</complianceBatch>',
        '',
      ].join('\n'),
    );
  });

  test('markup in text and attributes is escaped; an event without content or details has neither element', () => {
    const xml = xmlFormat.render({
      batchId: 'b2',
      events: [
        event(1, { content: '<b>"fish" & chips</b>', actor: { uri: 'sip:o"neil@contoso.com', kind: 'federated', name: 'O\'Neil <ext>\nline' } }),
        event(2, { type: 'chat.history', content: undefined, details: undefined, target: { kind: 'room', id: 'room_1' } }),
      ],
    });
    expect(xml).toContain('<content>&lt;b&gt;"fish" &amp; chips&lt;/b&gt;</content>');
    expect(xml).toContain('<actor uri="sip:o&quot;neil@contoso.com" kind="federated" name="O\'Neil &lt;ext&gt;&#10;line"/>');
    const history = xml.slice(xml.indexOf('type="chat.history"'));
    expect(history).not.toContain('<content');
    expect(history).not.toContain('<detail');
    expect(history).toContain('<target kind="room" id="room_1"/>');
  });

  test('text XML cannot carry is kept exactly, as base64 of its UTF-8', () => {
    const content = 'bell \u0007 and nul \u0000';
    const xml = xmlFormat.render({ batchId: 'b3', events: [event(1, { content, details: { query: 'esc\u001b' } })] });
    expect(xml).toContain(`<content encoding="base64">${Buffer.from(content, 'utf8').toString('base64')}</content>`);
    expect(xml).toContain(`<detail name="query" type="string" encoding="base64">${Buffer.from('esc\u001b').toString('base64')}</detail>`);
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008]/);
  });

  test('U+FFFE, U+FFFF and lone surrogates are kept exactly: UTF-8 base64, or UTF-16LE base64 when UTF-8 cannot hold it; a target name too', () => {
    const nonCharacters = 'non-characters \uFFFE\uFFFF';
    const loneSurrogates = 'lone \uD800 and \uDFFF, a pair 😀';
    const name = 'room \uFFFF \uDBFF';
    const xml = xmlFormat.render({
      batchId: 'b4',
      events: [event(1, { content: nonCharacters }), event(2, { content: loneSurrogates, target: { kind: 'room', id: 'room_1', name } })],
    });
    expect(xml).toContain(`<content encoding="base64">${Buffer.from(nonCharacters, 'utf8').toString('base64')}</content>`);
    const utf16 = /<content encoding="base64-utf16le">([^<]*)<\/content>/.exec(xml)?.[1];
    expect(Buffer.from(utf16!, 'base64').toString('utf16le')).toBe(loneSurrogates);
    const exactName = /<target kind="room" id="room_1" name="room \uFFFD \uFFFD"><name encoding="base64-utf16le">([^<]*)<\/name><\/target>/.exec(xml)?.[1];
    expect(Buffer.from(exactName!, 'base64').toString('utf16le')).toBe(name);
    expect(xml).not.toMatch(/[\uFFFE\uFFFF\uD800-\uDFFF]/);
  });

  test('the same batch renders to the same bytes', () => {
    const events = [event(1), event(2), event(3)];
    expect(xmlFormat.render({ batchId: 'b', events })).toBe(xmlFormat.render({ batchId: 'b', events: [...events].reverse() }));
  });
});

describe('JSON Lines', () => {
  test('one JSON object per line, oldest first, each carrying the batch id', () => {
    const text = jsonLinesFormat.render({ batchId: 'b1', events: [event(2), event(1, { content: 'line\nbreak' })] });
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual({ batchId: 'b1', ...event(1, { content: 'line\nbreak' }) });
    expect(JSON.parse(lines[1]!)).toEqual({ batchId: 'b1', ...event(2) });
  });

  test('U+FFFE, U+FFFF and lone surrogates survive: the line is valid UTF-8 and parses back to the same text', () => {
    const content = '\uFFFE\uFFFF \uD800 \uDC00 😀';
    const text = jsonLinesFormat.render({ batchId: 'b2', events: [event(1, { content, target: { kind: 'room', id: 'room_1', name: '\uDBFF' } })] });
    const roundTrip = Buffer.from(text, 'utf8').toString('utf8');
    expect(JSON.parse(roundTrip.split('\n')[0]!)).toMatchObject({ content, target: { name: '\uDBFF' } });
  });

  test('the adapter is chosen by name', () => {
    expect(archiveFormat('jsonl')).toBe(jsonLinesFormat);
    expect(archiveFormat('xml')).toBe(xmlFormat);
    expect([jsonLinesFormat.extension, xmlFormat.extension]).toEqual(['jsonl', 'xml']);
  });
});

import { linkify, safeHref } from '../../../web/src/linkify';

/** Links in messages (issue 23 item 10): http and https only, the text itself kept whole. */
describe('linkify', () => {
  test('an http or https address becomes a link; the text around it stays text', () => {
    expect(linkify('notes at https://example.com/a?b=1#c and http://intra.contoso.com')).toEqual([
      { kind: 'text', text: 'notes at ' },
      { kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://intra.contoso.com', href: 'http://intra.contoso.com/' },
    ]);
  });

  test('javascript:, data:, file: and other schemes are never links', () => {
    for (const text of ['javascript:alert(1)', 'JavaScript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'ftp://example.com', 'mailto:bob@contoso.com', 'vbscript:msgbox']) {
      expect(linkify(text)).toEqual([{ kind: 'text', text }]);
    }
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('https://')).toBeUndefined();
  });

  test('the closing punctuation of a sentence, or a bracket the address does not open, is not part of the link', () => {
    expect(linkify('see https://example.com/x.')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/x', href: 'https://example.com/x' },
      { kind: 'text', text: '.' },
    ]);
    expect(linkify('(https://example.com/wiki/A_(b))')).toEqual([
      { kind: 'text', text: '(' },
      { kind: 'link', text: 'https://example.com/wiki/A_(b)', href: 'https://example.com/wiki/A_(b)' },
      { kind: 'text', text: ')' },
    ]);
  });

  test('quotes and angle brackets end an address; joined, the parts are the text', () => {
    const text = 'a <https://example.com/"onmouseover=x> "http://b.example" plain';
    const parts = linkify(text);
    expect(parts.map((part) => part.text).join('')).toBe(text);
    expect(parts.filter((part) => part.kind === 'link').map((part) => part.text)).toEqual(['https://example.com/', 'http://b.example']);
  });

  test('a bidirectional control character ends an address, so a link never reads as another address than it opens', () => {
    const text = 'https://evil.example/\u202egro.elpmaxe//:sptth';
    const parts = linkify(text);
    expect(parts.map((part) => part.text).join('')).toBe(text);
    expect(parts[0]).toEqual({ kind: 'link', text: 'https://evil.example/', href: 'https://evil.example/' });
    expect(parts.filter((part) => part.kind === 'link')).toHaveLength(1);
  });

  test('a text without addresses is one text part; an empty text has none', () => {
    expect(linkify('hello there')).toEqual([{ kind: 'text', text: 'hello there' }]);
    expect(linkify('')).toEqual([]);
  });
});

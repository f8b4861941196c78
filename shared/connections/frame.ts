/**
 * A server frame serialised once: a fan-out posts the same bytes to every connection instead of running
 * `JSON.stringify` and a UTF-8 encode per recipient (issue 21). `toJSON` gives the frame back to anything that
 * serialises it again (in-memory fakes).
 */
export class SerializedFrame {
  readonly bytes: Uint8Array;

  constructor(readonly text: string) {
    this.bytes = new TextEncoder().encode(text);
  }

  static of(frame: unknown): SerializedFrame {
    return frame instanceof SerializedFrame ? frame : new SerializedFrame(JSON.stringify(frame));
  }

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

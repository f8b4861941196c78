/**
 * What one client has seen of a room's numbered messages (`seq` 1, 2, 3…). Events of concurrent posts can
 * arrive out of order, and the client's own posts are answered, not delivered, so "seen" is a contiguous
 * watermark plus the seqs seen above it. Pure: the client decides what to fetch from what this says.
 */
export class RoomSequence {
  private above = new Set<number>();

  /** Every seq up to and including `watermark` has been seen (or was there before this client started). */
  constructor(private watermarkSeq = 0) {}

  get watermark(): number {
    return this.watermarkSeq;
  }

  /** The seqs between the watermark and the highest seen that have not arrived. */
  missing(): number[] {
    if (this.above.size === 0) return [];
    const highest = Math.max(...this.above);
    const missing: number[] = [];
    for (let seq = this.watermarkSeq + 1; seq < highest; seq++) if (!this.above.has(seq)) missing.push(seq);
    return missing;
  }

  has(seq: number): boolean {
    return seq <= this.watermarkSeq || this.above.has(seq);
  }

  /** Records a seq; false when it was seen already (a duplicate to drop). */
  add(seq: number): boolean {
    if (this.has(seq)) return false;
    this.above.add(seq);
    while (this.above.delete(this.watermarkSeq + 1)) this.watermarkSeq++;
    return true;
  }

  /** Moves the watermark up to `seq` without the messages (e.g. a room first seen with `lastSeq`). */
  skipTo(seq: number): void {
    if (seq <= this.watermarkSeq) return;
    this.watermarkSeq = seq;
    for (const seen of this.above) if (seen <= seq) this.above.delete(seen);
    while (this.above.delete(this.watermarkSeq + 1)) this.watermarkSeq++;
  }
}

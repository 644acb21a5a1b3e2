/**
 * Tracks records of one partition that finish out of order and tells which offset may be committed: the one
 * after the longest finished prefix. Records must be added in offset order (as a consumer receives them).
 */
export class CommitQueue {
  private readonly offsets: bigint[] = [];
  private readonly finished = new Set<bigint>();
  private head = 0;

  add(offset: string): void {
    this.offsets.push(BigInt(offset));
  }

  /** Marks a record finished; returns the offset to commit when the finished prefix grew, else undefined. */
  finish(offset: string): string | undefined {
    this.finished.add(BigInt(offset));
    let committable: bigint | undefined;
    while (this.head < this.offsets.length && this.finished.has(this.offsets[this.head]!)) {
      const done = this.offsets[this.head]!;
      this.finished.delete(done);
      committable = done + 1n;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets.splice(0, this.head);
      this.head = 0;
    }
    return committable === undefined ? undefined : committable.toString();
  }

  get pending(): number {
    return this.offsets.length - this.head;
  }
}

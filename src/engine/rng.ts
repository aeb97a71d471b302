// Seeded pseudo-random numbers (sfc32), with a state that can be saved and restored so a
// resumed run draws exactly what the uninterrupted run would have.

export type RngState = [number, number, number, number];

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed = 0) {
    this.reseed(seed);
  }

  /** Restarts the sequence from `seed`, as a new Rng(seed) would, without allocating. */
  reseed(seed: number): void {
    // splitmix32 expands the seed into four well-mixed words
    const s = seed >>> 0;
    this.a = splitmix32((s + 0x9e3779b9) >>> 0);
    this.b = splitmix32((s + 2 * 0x9e3779b9) >>> 0);
    this.c = splitmix32((s + 3 * 0x9e3779b9) >>> 0);
    this.d = splitmix32((s + 4 * 0x9e3779b9) >>> 0);
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  setState(s: readonly number[]): void {
    [this.a, this.b, this.c, this.d] = s.map((v) => v >>> 0);
  }
}

/** splitmix32's output function for one state word. */
function splitmix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

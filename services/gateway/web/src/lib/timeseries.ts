// Bounded in-memory series and the column-aligned tables uPlot draws.

export interface Series {
  ts: number[];
  values: number[];
}

/** A fixed-capacity ring of (time, value) points; the oldest fall off, and are counted. */
export class Ring {
  readonly capacity: number;
  private ts: Float64Array;
  private vs: Float64Array;
  private start = 0;
  private size = 0;
  /** Points pushed out by the capacity bound. */
  dropped = 0;
  /** Points refused because they were not newer than the last one (duplicates, replays). */
  stale = 0;

  constructor(capacity: number) {
    if (capacity < 1) throw new Error("a ring needs a capacity of at least 1");
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.vs = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  lastTime(): number | null {
    return this.size === 0 ? null : this.ts[(this.start + this.size - 1) % this.capacity];
  }

  lastValue(): number | null {
    return this.size === 0 ? null : this.vs[(this.start + this.size - 1) % this.capacity];
  }

  push(t: number, v: number): boolean {
    const last = this.lastTime();
    if (last !== null && t <= last) {
      this.stale += 1;
      return false;
    }
    if (this.size === this.capacity) {
      this.ts[this.start] = t;
      this.vs[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
      this.dropped += 1;
    } else {
      const at = (this.start + this.size) % this.capacity;
      this.ts[at] = t;
      this.vs[at] = v;
      this.size += 1;
    }
    return true;
  }

  /** The points at or after `since` (all of them by default), oldest first. */
  toSeries(since = -Infinity): Series {
    const ts: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const at = (this.start + i) % this.capacity;
      if (this.ts[at] >= since) {
        ts.push(this.ts[at]);
        values.push(this.vs[at]);
      }
    }
    return { ts, values };
  }
}

/**
 * uPlot's table: one x column, then one column per series. `null` is a gap (the series had
 * no data there: the line breaks); `undefined` only means the series has no point at that
 * row's time (the line joins across it).
 */
export type Cell = number | null | undefined;
export type Aligned = [number[], ...Cell[][]];

/** A series whose values may hold gaps (null), as history answers carry them. */
export interface GappySeries {
  ts: number[];
  values: (number | null)[];
}

/**
 * Join several series on the union of their times (each sorted ascending). The gateway
 * answers every series of a host on the same slots (whole seconds, or bucket starts), so
 * points of one moment share a row.
 */
export function alignSeries(list: GappySeries[]): Aligned {
  const xs: number[] = [];
  const cols: Cell[][] = list.map(() => []);
  const idx = list.map(() => 0);
  for (;;) {
    let next = Infinity;
    for (let k = 0; k < list.length; k++) {
      if (idx[k] < list[k].ts.length && list[k].ts[idx[k]] < next) next = list[k].ts[idx[k]];
    }
    if (next === Infinity) break;
    xs.push(next);
    for (let k = 0; k < list.length; k++) {
      if (idx[k] < list[k].ts.length && list[k].ts[idx[k]] === next) {
        cols[k].push(list[k].values[idx[k]]);
        idx[k] += 1;
      } else {
        cols[k].push(undefined);
      }
    }
  }
  return [xs, ...cols];
}

/** Live points further apart than this (and 3 steps) have a gap between them. */
const LIVE_GAP_S = 15;

/**
 * A chart's table that grows at its live edge: history first, then points appended as
 * they arrive, trimmed to a time span and a point count so it never grows without bound.
 */
export class ChartWindow {
  readonly table: Aligned;
  /** Points trimmed off the front by the span or the count bound. */
  trimmed = 0;
  /** The bucket the live edge is averaging into (`appendLive`), and its counts per column. */
  private liveBucket: number | null = null;
  private liveCounts: number[] = [];

  constructor(
    columns: number,
    private readonly maxPoints: number,
    history?: Aligned,
  ) {
    if (history && history.length !== columns + 1) {
      throw new Error(`history has ${history.length - 1} series, the chart ${columns}`);
    }
    this.table = history ?? [[], ...Array.from({ length: columns }, () => [] as Cell[])];
    this.trimCount();
  }

  get length(): number {
    return this.table[0].length;
  }

  lastTime(): number | null {
    const xs = this.table[0];
    return xs.length ? xs[xs.length - 1] : null;
  }

  /** Append one row; a time not after the last row's is ignored (returns false). */
  append(t: number, values: Cell[]): boolean {
    const last = this.lastTime();
    if (last !== null && t <= last) return false;
    this.table[0].push(t);
    for (let k = 1; k < this.table.length; k++) (this.table[k] as Cell[]).push(values[k - 1]);
    this.trimCount();
    return true;
  }

  /**
   * Append a live point to a chart whose history is spaced `step` seconds apart: each
   * step-wide bucket gets one row, the running mean of the points that fall in it (so an
   * hour of 1 s samples adds 60 rows to a 1-minute chart, not 3,600); raw charts (step 1)
   * get one row per second, as the gateway keeps them. A bucket the history already holds
   * is left as the gateway computed it. Returns whether the table changed.
   */
  appendLive(t: number, values: Cell[], step: number): boolean {
    const bucket = Math.floor(t / Math.max(1, step)) * Math.max(1, step);
    const last = this.lastTime();
    if (last !== null && bucket === last && this.liveBucket === bucket) {
      for (let k = 0; k < values.length; k++) {
        const v = values[k];
        if (v == null) continue;
        const col = this.table[k + 1] as Cell[];
        const n = this.liveCounts[k];
        const mean = col[col.length - 1];
        col[col.length - 1] = n === 0 || mean == null ? v : mean + (v - mean) / (n + 1);
        this.liveCounts[k] = n + 1;
      }
      return true;
    }
    // Live points resuming after a silence: a gap row, so the line is not drawn across it.
    if (last !== null && bucket - last > Math.max(3 * step, LIVE_GAP_S)) this.append(last + Math.max(1, step), values.map(() => null));
    if (!this.append(bucket, values)) return false;
    this.liveBucket = bucket;
    this.liveCounts = values.map((v) => (v == null ? 0 : 1));
    return true;
  }

  /** Drop the rows older than `t0` (the chart's sliding start). */
  trimBefore(t0: number): void {
    const xs = this.table[0];
    let n = 0;
    while (n < xs.length && xs[n] < t0) n++;
    this.dropFront(n);
  }

  private trimCount(): void {
    const over = this.table[0].length - this.maxPoints;
    if (over > 0) this.dropFront(over);
  }

  private dropFront(n: number): void {
    if (n <= 0) return;
    for (const col of this.table) col.splice(0, n);
    this.trimmed += n;
  }
}

/** Min and max of the non-null values of some columns (null when there are none). */
export function extent(columns: Cell[][]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const col of columns) {
    for (const v of col) {
      if (v == null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo === Infinity ? null : [lo, hi];
}

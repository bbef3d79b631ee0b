import { describe, expect, it } from "vitest";
import { alignSeries, ChartWindow, extent, Ring } from "./timeseries";

describe("Ring", () => {
  it("keeps the newest points up to its capacity and counts what falls off", () => {
    const ring = new Ring(3);
    for (const t of [1, 2, 3, 4, 5]) ring.push(t, t * 10);
    expect(ring.toSeries()).toEqual({ ts: [3, 4, 5], values: [30, 40, 50] });
    expect(ring.dropped).toBe(2);
    expect(ring.lastTime()).toBe(5);
    expect(ring.lastValue()).toBe(50);
  });

  it("refuses a point not newer than the last one, and counts it", () => {
    const ring = new Ring(4);
    expect(ring.push(10, 1)).toBe(true);
    expect(ring.push(10, 2)).toBe(false);
    expect(ring.push(9, 3)).toBe(false);
    expect(ring.stale).toBe(2);
    expect(ring.toSeries()).toEqual({ ts: [10], values: [1] });
  });

  it("returns the points since a time", () => {
    const ring = new Ring(10);
    for (const t of [1, 2, 3, 4]) ring.push(t, t);
    expect(ring.toSeries(3).ts).toEqual([3, 4]);
  });

  it("needs a capacity", () => {
    expect(() => new Ring(0)).toThrow(/capacity/);
  });
});

describe("alignSeries", () => {
  it.each([
    { name: "nothing", input: [], expected: [[]] },
    { name: "one series", input: [{ ts: [1, 2], values: [5, 6] }], expected: [[1, 2], [5, 6]] },
    {
      name: "same times",
      input: [
        { ts: [1, 2], values: [5, 6] },
        { ts: [1, 2], values: [7, 8] },
      ],
      expected: [[1, 2], [5, 6], [7, 8]],
    },
    {
      name: "interleaved times leave undefined (joined across)",
      input: [
        { ts: [1, 3], values: [10, 30] },
        { ts: [2, 3, 4], values: [20, 31, 40] },
      ],
      expected: [
        [1, 2, 3, 4],
        [10, undefined, 30, undefined],
        [undefined, 20, 31, 40],
      ],
    },
    {
      name: "a gap stays null (the line breaks there)",
      input: [{ ts: [1, 2, 90], values: [5, null, 6] }],
      expected: [
        [1, 2, 90],
        [5, null, 6],
      ],
    },
    {
      name: "an empty series among others",
      input: [{ ts: [], values: [] }, { ts: [5], values: [1] }],
      expected: [[5], [undefined], [1]],
    },
  ])("$name", ({ input, expected }) => {
    expect(alignSeries(input)).toEqual(expected);
  });
});

describe("ChartWindow", () => {
  it("appends rows at the live edge and ignores old ones", () => {
    const w = new ChartWindow(2, 100, [[1, 2], [10, 20], [1, 2]]);
    expect(w.append(3, [30, 3])).toBe(true);
    expect(w.append(3, [99, 99])).toBe(false);
    expect(w.append(2.5, [99, 99])).toBe(false);
    expect(w.table).toEqual([[1, 2, 3], [10, 20, 30], [1, 2, 3]]);
  });

  it("trims to the newest `maxPoints` rows", () => {
    const w = new ChartWindow(1, 3);
    for (const t of [1, 2, 3, 4, 5]) w.append(t, [t]);
    expect(w.table).toEqual([[3, 4, 5], [3, 4, 5]]);
    expect(w.trimmed).toBe(2);
  });

  it("trims history longer than the bound when built", () => {
    const w = new ChartWindow(1, 2, [[1, 2, 3], [1, 2, 3]]);
    expect(w.table).toEqual([[2, 3], [2, 3]]);
  });

  it("drops rows before the range's start", () => {
    const w = new ChartWindow(1, 10, [[1, 2, 3, 4], [1, 2, 3, 4]]);
    w.trimBefore(3);
    expect(w.table).toEqual([[3, 4], [3, 4]]);
  });

  it("leaves a missing value undefined (joined across, not a gap)", () => {
    const w = new ChartWindow(2, 10);
    w.append(1, [5]);
    expect(w.table).toEqual([[1], [5], [undefined]]);
  });

  it("refuses history of another shape", () => {
    expect(() => new ChartWindow(2, 10, [[1], [1]])).toThrow(/1 series, the chart 2/);
  });
});

describe("extent", () => {
  it.each([
    { cols: [[1, 5, null], [3, -2]], expected: [-2, 5] },
    { cols: [[null, null]], expected: null },
    { cols: [], expected: null },
  ])("$cols → $expected", ({ cols, expected }) => {
    expect(extent(cols)).toEqual(expected);
  });
});

describe("ChartWindow.appendLive", () => {
  it("averages live samples into one row per step after the history", () => {
    const w = new ChartWindow(2, 100, [[0, 60], [10, 20], [1, 2]]);
    expect(w.appendLive(60.5, [99, 99], 60)).toBe(false); // the history's bucket stays as it is
    expect(w.appendLive(121, [30, null], 60)).toBe(true);
    expect(w.appendLive(125, [40, 4], 60)).toBe(true);
    expect(w.appendLive(130, [50, 6], 60)).toBe(true);
    expect(w.table).toEqual([
      [0, 60, 120],
      [10, 20, 40],
      [1, 2, 5],
    ]);
    w.appendLive(181, [7, 7], 60);
    expect(w.table[0]).toEqual([0, 60, 120, 180]);
    expect(w.table[1][3]).toBe(7);
  });

  it("keeps one row a second on raw charts, on the gateway's whole seconds", () => {
    const w = new ChartWindow(1, 100, [[10, 11], [1, 2]]);
    expect(w.appendLive(11.4, [5], 1)).toBe(false);
    expect(w.appendLive(12.02, [3], 1)).toBe(true);
    expect(w.appendLive(12.9, [5], 1)).toBe(true);
    expect(w.table).toEqual([
      [10, 11, 12],
      [1, 2, 4],
    ]);
  });

  it("breaks the line where live samples stopped for a while", () => {
    const w = new ChartWindow(1, 100, [[10, 11], [1, 2]]);
    expect(w.appendLive(12, [3], 1)).toBe(true);
    expect(w.appendLive(92, [4], 1)).toBe(true); // 80 s without samples
    expect(w.appendLive(97, [5], 1)).toBe(true); // an agent every 5 s is not a gap
    expect(w.table).toEqual([
      [10, 11, 12, 13, 92, 97],
      [1, 2, 3, null, 4, 5],
    ]);
  });

  it("adds 60 rows for an hour of 1 s samples on a 1-minute chart", () => {
    const w = new ChartWindow(1, 5000);
    for (let t = 0; t < 3600; t++) w.appendLive(t, [t % 60], 60);
    expect(w.length).toBe(60);
    expect(w.table[1][0]).toBeCloseTo(29.5);
  });
});

describe("alignSeries", () => {
  it("joins series on the gateway's shared slots", () => {
    const a = { ts: [10, 20, 30], values: [1, 2, 3] };
    const b = { ts: [20, 30, 40], values: [5, 6, 7] };
    expect(alignSeries([a, b])).toEqual([
      [10, 20, 30, 40],
      [1, 2, 3, undefined],
      [undefined, 5, 6, 7],
    ]);
  });
});

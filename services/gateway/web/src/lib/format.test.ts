import { describe, expect, it } from "vitest";
import {
  formatAge,
  formatByteRate,
  formatBytes,
  formatCount,
  formatDuration,
  formatMhz,
  formatMs,
  formatPercent,
  formatRatio,
  formatRate,
  formatTime,
} from "./format";
import { h100Recording } from "../test/h100";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1023, "1023 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [1048575, "1 MiB"],
    [10 * 1024 ** 2, "10 MiB"],
    [123.456 * 1024 ** 3, "123 GiB"],
    [2.5 * 1024 ** 4, "2.5 TiB"],
    [-2048, "-2 KiB"],
    [null, "—"],
    [undefined, "—"],
    [Number.NaN, "—"],
    [Number.POSITIVE_INFINITY, "—"],
  ])("%s bytes read %s", (value, expected) => {
    expect(formatBytes(value)).toBe(expected);
  });

  it("says GiB, not GB, for binary multiples: 25.3 GB of memory is 23.5 GiB", () => {
    expect(formatBytes(25.3e9)).toBe("23.6 GiB");
    expect(formatBytes(25.3e9)).not.toMatch(/\bGB\b/);
  });

  it("reads the recorded H100's memory as people know it", () => {
    const r = h100Recording();
    expect(formatBytes(r.gpus[0].memory.total)).toBe("79.6 GiB");
    expect(formatBytes(r.psutil.vm.total)).toBe("126 GiB");
  });
});

describe("rates and counts", () => {
  it.each([
    [formatByteRate(0), "0 B/s"],
    [formatByteRate(1.25 * 1024 ** 2), "1.25 MiB/s"],
    [formatByteRate(null), "—"],
    [formatCount(950), "950"],
    [formatCount(0.5), "0.5"],
    [formatCount(1200), "1.2k"],
    [formatCount(3_400_000), "3.4M"],
    [formatCount(-1500), "-1.5k"],
    [formatRate(12.345), "12.3/s"],
    [formatRate(12000, " req/s"), "12k req/s"],
    [formatRate(undefined), "—"],
  ])("%s is %s", (actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe("percentages", () => {
  it.each([
    [0, undefined, "0%"],
    [3.14159, undefined, "3.1%"],
    [42.4, undefined, "42%"],
    [100, undefined, "100%"],
    [99.95, 2, "99.95%"],
    [null, undefined, "—"],
  ])("formatPercent(%s, %s) is %s", (v, digits, expected) => {
    expect(formatPercent(v, digits)).toBe(expected);
  });

  it.each([
    [0, "0%"],
    [1, "100%"],
    [0.0123, "1.23%"],
    [0.99999, "100%"],
    [0.5, "50%"],
    [null, "—"],
  ])("formatRatio(%s) is %s", (v, expected) => {
    expect(formatRatio(v)).toBe(expected);
  });
});

describe("durations and latencies", () => {
  it.each([
    [0, "0s"],
    [45.9, "45s"],
    [60, "1m"],
    [200, "3m 20s"],
    [3600, "1h"],
    [5 * 3600 + 120 + 5, "5h 2m"],
    [12 * 86400 + 4 * 3600, "12d 4h"],
    [86400 + 59, "1d"],
    [-5, "0s"],
    [null, "—"],
  ])("formatDuration(%s) is %s", (s, expected) => {
    expect(formatDuration(s)).toBe(expected);
  });

  it.each([
    [0.42, "0.42 ms"],
    [12, "12 ms"],
    [123.4, "123 ms"],
    [1500, "1.5 s"],
    [null, "—"],
  ])("formatMs(%s) is %s", (ms, expected) => {
    expect(formatMs(ms)).toBe(expected);
  });

  it.each([
    [1000, 1001, "just now"],
    [1000, 1030, "30s ago"],
    [1000, 1000 + 7200, "2h ago"],
    [0, 1000, "—"],
    [null, 1000, "—"],
  ])("formatAge(%s, now=%s) is %s", (ts, now, expected) => {
    expect(formatAge(ts, now)).toBe(expected);
  });

  it("shows the date only for another day", () => {
    const ts = new Date(2026, 0, 15, 9, 5, 7).getTime() / 1000;
    expect(formatTime(ts, ts + 60)).toBe("09:05:07");
    expect(formatTime(ts, ts + 2 * 86400)).toBe("2026-01-15 09:05:07");
  });

  it.each([
    [2100, "2.1 GHz"],
    [800, "800 MHz"],
    [null, "—"],
  ])("formatMhz(%s) is %s", (mhz, expected) => {
    expect(formatMhz(mhz)).toBe(expected);
  });
});

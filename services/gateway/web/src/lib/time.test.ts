import { describe, expect, it } from "vitest";
import { analyticsRange, customRange, followsNow, maxPointsFor, rangeBounds, rangeParams, shownRange, stepFor } from "./time";

const NOW = 1_800_000_000;

describe("time ranges", () => {
  it.each([
    [{ kind: "relative", key: "1h" }, [NOW - 3600, NOW], { range: "1h" }, true],
    [{ kind: "relative", key: "7d" }, [NOW - 604800, NOW], { range: "7d" }, true],
    [{ kind: "absolute", start: 100.4, end: 200.6 }, [100.4, 200.6], { start: 100, end: 201 }, false],
  ] as const)("%j", (range, bounds, params, live) => {
    expect(rangeBounds(range, NOW)).toEqual(bounds);
    expect(rangeParams(range)).toEqual(params);
    expect(followsNow(range)).toBe(live);
  });

  it("keeps an hour of one-second points, fewer for longer ranges", () => {
    expect(maxPointsFor({ kind: "relative", key: "1h" })).toBeGreaterThanOrEqual(3600);
    expect(maxPointsFor({ kind: "relative", key: "7d" })).toBeLessThanOrEqual(5000);
  });
});

describe("customRange", () => {
  const t = (s: string) => Date.parse(s) / 1000;
  const NOW = t("2026-01-01T18:00");
  it.each([
    ["2026-01-01T10:00", "2026-01-01T12:00", { kind: "absolute", start: t("2026-01-01T10:00"), end: t("2026-01-01T12:00") }],
    ["2026-01-01T10:00", "", { kind: "absolute", start: t("2026-01-01T10:00"), end: NOW }],
    ["", "2026-01-01T12:00", "Choose a start time."],
    ["2026-01-01T10:00", "garbage", "The end time is not a valid time."],
    ["2026-01-01T12:00", "2026-01-01T10:00", "The end must be after the start."],
    ["2025-01-01T00:00", "2026-01-01T00:00", "A custom range can span 90 days at most."],
  ])("%s to %s", (start, end, expected) => {
    expect(customRange(start, end, NOW)).toEqual(expected);
  });

  it("never ends in the future", () => {
    const r = customRange("2027-01-01T00:00", "2027-01-02T00:00", t("2027-01-01T06:00"));
    expect(r).toEqual({ kind: "absolute", start: t("2027-01-01T00:00"), end: t("2027-01-01T06:00") });
  });
});

describe("shownRange", () => {
  it.each([
    { name: "data over the whole hour", first: 1000, expected: [1000, 4600] },
    { name: "data over the last half", first: 2800, expected: [1000, 4600] },
    { name: "a host reporting for ten minutes", first: 4000, expected: [3970, 4600] },
    { name: "a host reporting for a minute: two minutes shown", first: 4540, expected: [4480, 4600] },
    { name: "no data", first: null, expected: [1000, 4600] },
  ])("$name", ({ first, expected }) => {
    expect(shownRange(1000, 4600, first)).toEqual(expected);
  });
});

describe("the gateway's resolutions and the analytics' ranges", () => {
  it.each([
    [{ kind: "relative", key: "1h" }, 1, "1h"],
    [{ kind: "relative", key: "6h" }, 60, "24h"],
    [{ kind: "relative", key: "24h" }, 60, "24h"],
    [{ kind: "relative", key: "7d" }, 600, "7d"],
    [{ kind: "absolute", start: NOW - 1800, end: NOW - 600 }, 1, "1h"],
    [{ kind: "absolute", start: NOW - 30 * 86400, end: NOW - 29 * 86400 }, 3600, "7d"],
  ] as const)("%j: points %s s apart, analytics over %s", (range, step, analytics) => {
    expect(stepFor(range, NOW)).toBe(step);
    expect(analyticsRange(range, NOW)).toBe(analytics);
  });
});

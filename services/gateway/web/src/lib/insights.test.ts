import { describe, expect, it } from "vitest";
import { analyticsFrom, recommendationsFrom } from "../api/normalize";
import type { Capacity } from "../api/types";
import { body } from "../test/recorded";
import { capacityText, evidenceText, seriesText } from "./insights";

describe("recommendations (recorded)", () => {
  it("read their evidence for a person", () => {
    const [rec] = recommendationsFrom(body("optimization"));
    expect(rec.evidence.map(evidenceText)).toEqual([
      "check.up asr-health state changes over 1h: 7",
      "check.up asr-health share of results up over 1h: 85%",
    ]);
  });

  it.each([
    [{ series: "swap.in_per_s", statistic: "mean", value: 1048576, window: "1h", unit: "B/s", start: 0, end: 1 }, "swap.in_per_s mean over 1h: 1 MiB/s"],
    [{ series: "memory.percent", statistic: "p95", value: 96.25, window: "1h", unit: "%", start: 0, end: 1 }, "memory.percent p95 over 1h: 96.3%"],
    [{ series: "cpu.count", statistic: "cores", value: 16, window: "latest", start: 0, end: 1 }, "cpu.count cores latest: 16"],
  ])("%j → %s", (e, text) => {
    expect(evidenceText(e)).toBe(text);
  });

  it("names series with their labels' values", () => {
    expect(seriesText("disk.percent{mount=/data}")).toBe("disk.percent /data");
    expect(seriesText("cpu.percent")).toBe("cpu.percent");
  });
});

describe("capacity forecasts", () => {
  const base: Capacity = { resource: "disk", series: "disk.percent{mount=/}", limit: 95, current: 71.16, status: "insufficient_data", window: null };
  it("say nothing without enough data (recorded: an hour of history)", () => {
    const capacity = analyticsFrom(body("analytics"), "gpu-h100")?.capacity ?? [];
    expect(capacity.length).toBeGreaterThan(0);
    expect(capacity.map(capacityText).filter(Boolean)).toEqual([]);
  });

  it.each([
    [{ ...base, status: "exhausting", eta_s: 3 * 86400 + 3600, eta_low_s: 2 * 86400, eta_high_s: 5 * 86400, window: "7d" }, "reaches 95% in about 3d 1h, between 2d and 5d from the 7d trend (now 71.2%)", true],
    [{ ...base, status: "exhausting", eta_s: 30 * 86400, window: "7d" }, "reaches 95% in about 30d from the 7d trend (now 71.2%)", false],
    [{ ...base, status: "reached", current: 96 }, "at its limit of 95% (now 96.0%)", true],
    [{ ...base, status: "not_exhausting", window: "24h" }, "not heading for 95% (now 71.2%)", false],
    [{ ...base, resource: "queue", series: "app.queue_size{app=asr}", limit: 1000, current: 120, status: "exhausting", eta_s: 7200, window: "24h" }, "reaches 1000 in about 2h from the 24h trend (now 120)", true],
  ] as const)("%j", (c, when, urgent) => {
    expect(capacityText(c as Capacity)).toEqual({ what: c.resource === "queue" ? "Queue asr" : "Disk /", when, urgent });
  });
});

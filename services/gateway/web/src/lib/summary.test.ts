import { describe, expect, it } from "vitest";
import { fleetFrom, hostCurrentFrom } from "../api/normalize";
import type { MetricSample } from "../api/types";
import { h100Sample } from "../test/h100";
import { body } from "../test/recorded";
import { busiestGpu, summarize } from "./summary";

describe("summarize", () => {
  it("gives a whole sample the summary the gateway keeps for it (recorded)", () => {
    const sample = hostCurrentFrom(body("host"))?.sample as MetricSample;
    const s = summarize(sample);
    expect(s.cpu).toEqual({ percent: sample.cpu.percent, load1: sample.cpu.load1, count: 16 });
    expect(s.disks).toEqual((sample.disks ?? []).map((d) => ({ mount: d.mount, percent: d.percent })));
    expect(s.net?.rx_bytes_per_s).toBeCloseTo((sample.net ?? []).reduce((a, n) => a + n.rx_bytes_per_s, 0));
    expect(s.gpus).toEqual([{ index: 0, utilization: sample.gpus?.[0].utilization, memory_percent: 8.85, temperature: 65 }]);
    expect(s.temperature).toBe(sample.temperatures?.[0].celsius);
    // The same fields as the gateway's own summary of the host.
    expect(Object.keys(s).sort()).toEqual(Object.keys(fleetFrom(body("fleet")).get("gpu-h100") ?? {}).sort());
  });

  it("keeps, from the previous summary, the families a trimmed event lacks", () => {
    const previous = fleetFrom(body("fleet")).get("gpu-h100") ?? null;
    const trimmed = { kind: "metrics", host: "gpu-h100", ts: 2e9, seq: 1, interval: 1, cpu: { percent: 12 }, memory: { percent: 5, used: 5, total: 100, available: 95 }, gpus: [] } as MetricSample;
    const s = summarize(trimmed, previous);
    expect(s.cpu.percent).toBe(12);
    expect(s.gpus).toEqual([]);
    expect(s.disks).toEqual(previous?.disks);
    expect(s.net).toEqual(previous?.net);
    expect(s.uptime_s).toBe(previous?.uptime_s);
  });

  it("finds the recorded H100's busiest GPU", () => {
    expect(busiestGpu(summarize(h100Sample()))).toBe(99);
    expect(busiestGpu(summarize({ ...h100Sample(), gpus: [] }))).toBeNull();
    expect(busiestGpu(null)).toBeNull();
  });
});

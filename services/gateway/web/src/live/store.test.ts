import { describe, expect, it } from "vitest";
import { fleetFrom, hostCurrentFrom } from "../api/normalize";
import type { MetricSample } from "../api/types";
import { h100Sample } from "../test/h100";
import { sample, summary } from "../test/make";
import { body, frames } from "../test/recorded";
import { parseFrame } from "./connection";
import { FLEET_SPACING_S, HostStore, MAX_APPS } from "./store";

describe("HostStore", () => {
  it("keeps the newest sample and tells listeners which host changed", () => {
    const store = new HostStore();
    const heard: string[] = [];
    store.subscribe((h) => heard.push(h));
    expect(store.addSample(sample("a", 10, 5), true)).toBe(true);
    expect(store.addSample(sample("a", 10, 6), true)).toBe(false);
    expect(store.addSample(sample("a", 9, 7), true)).toBe(false);
    expect(store.addSample(sample("b", 3), true)).toBe(true);
    expect(store.get("a")?.sample?.cpu.percent).toBe(5);
    expect(store.get("a")?.summary?.cpu.percent).toBe(5);
    expect(heard).toEqual(["a", "b"]);
    expect(store.names()).toEqual(["a", "b"]);
  });

  it("takes the fleet's summaries (recorded) without inventing whole samples", () => {
    const store = new HostStore();
    for (const [host, s] of fleetFrom(body("fleet"))) store.addSummary(host, s);
    expect(store.get("gpu-h100")?.summary?.gpus?.[0].utilization).toBe(79.4);
    expect(store.get("gpu-h100")?.sample).toBeNull();
    expect(store.get("gpu-h100")?.fleet["gpu.utilization"].lastValue()).toBe(79.4);
    expect(store.get("vm")?.fleet["gpu.utilization"].length).toBe(0);
    expect(store.lastSeen("vm")).toBe(1795732119.406693);
  });

  it("keeps what a trimmed live frame lacks from the summary it had", () => {
    const store = new HostStore();
    for (const [host, s] of fleetFrom(body("fleet"))) store.addSummary(host, s);
    const frame = frames()
      .map(parseFrame)
      .find((f) => f?.type === "event" && f.event.kind === "metrics" && f.event.host === "gpu-h100");
    expect(frame?.type).toBe("event");
    if (frame?.type !== "event" || frame.event.kind !== "metrics") return;
    const trimmed = { ...frame.event, ts: 1795732200 };
    expect(store.addSample(trimmed, false)).toBe(true);
    const s = store.get("gpu-h100")?.summary;
    expect(s?.cpu.percent).toBe(trimmed.cpu.percent);
    // Disks are not in the fleet's frames: the fleet answer's stay.
    expect(s?.disks?.map((d) => d.mount)).toEqual(["/", "/usr/local/nvidia"]);
    expect(store.get("gpu-h100")?.sample).toBeNull();
  });

  it("takes a whole sample of the same time as the trimmed one it completes", () => {
    const store = new HostStore();
    const whole = hostCurrentFrom(body("host"))?.sample as MetricSample;
    const trimmed = { kind: "metrics", host: whole.host, ts: whole.ts, seq: whole.seq, interval: 1, cpu: whole.cpu, memory: whole.memory } as MetricSample;
    expect(store.addSample(trimmed, false)).toBe(true);
    expect(store.get(whole.host)?.summary?.disks).toBeUndefined();
    expect(store.addSample(whole, true)).toBe(true);
    expect(store.get(whole.host)?.sample).toBe(whole);
    expect(store.get(whole.host)?.summary?.disks).toHaveLength(2);
  });

  it("thins sparkline points to one per spacing", () => {
    const store = new HostStore();
    for (let t = 0; t < 30; t++) store.addSummary("a", summary(1000 + t, t));
    const cpu = store.get("a")?.fleet["cpu.percent"].toSeries();
    expect(cpu?.ts).toEqual([0, 1, 2, 3, 4, 5].map((k) => 1000 + k * FLEET_SPACING_S));
    expect(store.get("a")?.fleet["gpu.utilization"].length).toBe(0);
  });

  it("keeps full-resolution series of whole samples only while a host is focused", () => {
    const store = new HostStore();
    store.addSample(sample("a", 1), true);
    const unfocus = store.focus("a");
    store.addSample(sample("a", 2, 20), true);
    store.addSample(sample("a", 3, 30), true);
    store.addSample(sample("a", 4, 40), false);
    expect(store.focusSeries("a", "cpu.percent")).toEqual({ ts: [2, 3], values: [20, 30] });
    expect(store.focusSeries("a", "cpu.percent", 3)).toEqual({ ts: [3], values: [30] });
    unfocus();
    store.addSample(sample("a", 5), true);
    expect(store.focusSeries("a", "cpu.percent")).toEqual({ ts: [], values: [] });
  });

  it("seeds a sparkline with older history without losing live points", () => {
    const store = new HostStore();
    store.addSummary("a", summary(1000, 50));
    store.seedFleet("a", "cpu.percent", { ts: [880, 940, 1000, 1060], values: [1, 2, 3, 4] });
    expect(store.get("a")?.fleet["cpu.percent"].toSeries()).toEqual({ ts: [880, 940, 1000], values: [1, 2, 50] });
  });

  it("bounds the applications a host keeps, and counts the refused", () => {
    const store = new HostStore();
    for (let i = 0; i < MAX_APPS + 3; i++) store.addApp({ kind: "app", ts: 1, host: "a", app: `app${i}`, window: 10 });
    expect(store.get("a")?.apps.size).toBe(MAX_APPS);
    expect(store.dropped).toBe(3);
  });

  it("keeps the latest check result per check", () => {
    const store = new HostStore();
    store.addCheck({ kind: "health", ts: 1, host: "a", check: "api", check_kind: "http", ok: true });
    store.addCheck({ kind: "health", ts: 2, host: "a", check: "api", check_kind: "http", ok: false, reason: "503" });
    store.addCheck({ kind: "health", ts: 1.5, host: "a", check: "api", check_kind: "http", ok: true });
    expect(store.get("a")?.checks.get("api")?.ok).toBe(false);
  });

  it("charts the recorded H100's GPU in the fleet", () => {
    const store = new HostStore();
    store.addSample(h100Sample(), true);
    expect(store.get("gpu-host-h100")?.fleet["gpu.utilization"].lastValue()).toBe(99);
  });
});

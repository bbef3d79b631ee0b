import { describe, expect, it } from "vitest";
import { H100_PRESENT, h100Sample } from "../test/h100";
import { sample } from "../test/make";
import { FLEET_SPACING_S, HostStore, MAX_APPS } from "./store";

describe("HostStore", () => {
  it("keeps the newest sample and tells listeners which host changed", () => {
    const store = new HostStore();
    const heard: string[] = [];
    store.subscribe((h) => heard.push(h));
    expect(store.addSample(sample("a", 10, 5))).toBe(true);
    expect(store.addSample(sample("a", 10, 6))).toBe(false);
    expect(store.addSample(sample("a", 9, 7))).toBe(false);
    expect(store.addSample(sample("b", 3))).toBe(true);
    expect(store.get("a")?.sample?.cpu.percent).toBe(5);
    expect(heard).toEqual(["a", "b"]);
    expect(store.names()).toEqual(["a", "b"]);
  });

  it("thins sparkline points to one per spacing", () => {
    const store = new HostStore();
    for (let t = 0; t < 30; t++) store.addSample(sample("a", 1000 + t, t));
    const cpu = store.get("a")?.fleet["cpu.percent"].toSeries();
    expect(cpu?.ts).toEqual([1000, 1000 + FLEET_SPACING_S, 1000 + 2 * FLEET_SPACING_S, 1000 + 3 * FLEET_SPACING_S, 1000 + 4 * FLEET_SPACING_S, 1000 + 5 * FLEET_SPACING_S]);
    expect(store.get("a")?.fleet["gpu.utilization"].length).toBe(0);
  });

  it("keeps full-resolution series only while a host is focused", () => {
    const store = new HostStore();
    store.addSample(sample("a", 1));
    const unfocus = store.focus("a");
    store.addSample(sample("a", 2, 20));
    store.addSample(sample("a", 3, 30));
    expect(store.focusSeries("a", "cpu.percent")).toEqual({ ts: [2, 3], values: [20, 30] });
    expect(store.focusSeries("a", "cpu.percent", 3)).toEqual({ ts: [3], values: [30] });
    unfocus();
    store.addSample(sample("a", 4));
    expect(store.focusSeries("a", "cpu.percent")).toEqual({ ts: [], values: [] });
  });

  it("seeds a sparkline with older history without losing live points", () => {
    const store = new HostStore();
    store.addSample(sample("a", 1000, 50));
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
    expect(store.get("a")?.checks.get("api")?.ok).toBe(false);
  });

  it.skipIf(!H100_PRESENT)("charts the recorded H100's GPU in the fleet", () => {
    const store = new HostStore();
    store.addSample(h100Sample());
    expect(store.get("gpu-host-h100")?.fleet["gpu.utilization"].lastValue()).toBe(99);
  });
});

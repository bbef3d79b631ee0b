import { describe, expect, it } from "vitest";
import { h100Sample } from "../test/h100";
import { appPoints, family, isVirtualInterface, parseSeries, samplePoints, seriesName } from "./series";

describe("series names (as vitals_core.series writes them)", () => {
  it.each([
    ["cpu.percent", {}, "cpu.percent"],
    ["disk.percent", { mount: "/" }, "disk.percent{mount=/}"],
    ["temp.celsius", { sensor: "coretemp", label: "Core 0" }, "temp.celsius{label=Core 0,sensor=coretemp}"],
    ["gpu.utilization", { gpu: 0 }, "gpu.utilization{gpu=0}"],
  ])("%s %j is %s", (name, labels, expected) => {
    expect(seriesName(name, labels)).toBe(expected);
  });

  it.each([
    ["cpu.percent", { name: "cpu.percent", labels: {} }],
    ["disk.percent{mount=/data}", { name: "disk.percent", labels: { mount: "/data" } }],
    ["x{a=1,b=c=d}", { name: "x", labels: { a: "1", b: "c=d" } }],
    ["odd{", { name: "odd{", labels: {} }],
  ])("parses %s", (series, expected) => {
    expect(parseSeries(series)).toEqual(expected);
  });

  it("names the family", () => {
    expect(family("net.rx_bytes_per_s{interface=eth0}")).toBe("net");
  });

  it.each([
    ["lo", true],
    ["ifb0", true],
    ["veth12ab", true],
    ["docker0", true],
    ["eth0", false],
    ["ens5", false],
  ])("%s virtual: %s", (name, expected) => {
    expect(isVirtualInterface(name)).toBe(expected);
  });
});

describe("points of the recorded H100 host", () => {
  it("has the GPU's series under its index", () => {
    const sample = h100Sample();
    const points = new Map(samplePoints(sample));
    expect(points.get("gpu.utilization{gpu=0}")).toBe(99);
    expect(points.get("gpu.power_w{gpu=0}")).toBeCloseTo(690.968);
    expect(points.get("cpu.load1")).toBeCloseTo(0.1538, 3);
    expect(points.get("memory.percent")).toBe(0.8);
    expect(points.has("net.rx_bytes_per_s{interface=eth0}")).toBe(true);
  });
});

describe("application points", () => {
  it("include response percentiles only when there were responses", () => {
    const base = { kind: "app" as const, ts: 1, host: "h", app: "api", window: 10, jobs_active: 2, queue_size: 5 };
    expect(new Map(appPoints(base)).has("app.response_ms.p95{app=api}")).toBe(false);
    const withResponses = { ...base, response_ms: { count: 3, p50: 12, p95: 40 } };
    expect(new Map(appPoints(withResponses)).get("app.response_ms.p95{app=api}")).toBe(40);
    expect(new Map(appPoints(base)).get("app.queue_size{app=api}")).toBe(5);
  });
});

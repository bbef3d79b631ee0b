import { beforeAll, describe, expect, it } from "vitest";
import type { MetricSample, Silence } from "../api/types";
import { h100Sample } from "../test/h100";
import { alert, sample } from "../test/make";
import { chartGroups, chartInterfaces, rowOf, silenceApplies, sortAlerts } from "./trends";

describe("charts of the recorded H100 host", () => {
  // Read when the tests run: a skipped suite's body still runs, and the file may be absent.
  let s: MetricSample;
  beforeAll(() => {
    s = h100Sample();
  });
  it("get the system, network and GPU charts; the network one without loopback", () => {
    const groups = chartGroups(s, []);
    expect(groups.map((g) => g.id)).toEqual(["system", "network", "gpu"]);
    expect(chartInterfaces(s)).toEqual(["eth0"]);
    expect(groups[2].specs.map((x) => x.series)).toEqual(["gpu.utilization{gpu=0}", "gpu.memory_percent{gpu=0}"]);
    expect(groups[2].specs[0].label).toBe("GPU utilization");
  });

  it("turn a sample into one row per chart", () => {
    const [system, , gpu] = chartGroups(s, []);
    expect(rowOf(system.specs, s)).toEqual([s.cpu.percent, 0.8]);
    const [util, mem] = rowOf(gpu.specs, s);
    expect(util).toBe(99);
    expect(mem).toBeCloseTo(8.85, 2);
  });
});

describe("chartGroups", () => {
  it("adds a disk per mount (four at most) and a chart per application", () => {
    const s = {
      ...sample("h", 1),
      disks: ["/", "/data", "/a", "/b", "/c"].map((mount) => ({ mount, total: 10, used: 5, free: 5, percent: 50 })),
      net: [{ interface: "lo", rx_bytes_per_s: 1, tx_bytes_per_s: 1 }],
    };
    const groups = chartGroups(s, [{ kind: "app", ts: 1, host: "h", app: "transcriber", window: 10 }]);
    expect(groups.map((g) => g.id)).toEqual(["system", "network", "app:transcriber"]);
    expect(groups[0].specs.map((x) => x.label)).toEqual(["CPU", "Memory", "Disk /", "Disk /data", "Disk /a", "Disk /b"]);
    // Only loopback: chart it rather than nothing.
    expect(groups[1].specs.map((x) => x.series)).toEqual(["net.rx_bytes_per_s{interface=lo}", "net.tx_bytes_per_s{interface=lo}"]);
    expect(groups[2].specs.find((x) => x.right)?.series).toBe("app.response_ms.p95{app=transcriber}");
  });

  it("leaves read-only image file systems out of the disk lines", () => {
    const s = {
      ...sample("h", 1),
      disks: [
        { mount: "/", fstype: "ext4", total: 10, used: 5, free: 5, percent: 50 },
        { mount: "/usr/local/nvidia", fstype: "squashfs", total: 10, used: 10, free: 0, percent: 100 },
      ],
    };
    expect(chartGroups(s, [])[0].specs.map((x) => x.label)).toEqual(["CPU", "Memory", "Disk /"]);
  });

  it("reads an application's row from its metrics, null where it has none", () => {
    const [, , app] = chartGroups(sample("h", 1), [{ kind: "app", ts: 1, host: "h", app: "api", window: 10 }]);
    expect(rowOf(app.specs, { kind: "app", ts: 2, host: "h", app: "api", window: 10, jobs_active: 3, queue_size: 7, throughput_per_s: 1.5 })).toEqual([3, 7, 1.5, null]);
  });
});

describe("silenceApplies", () => {
  const silence = (matchers: Silence["matchers"]): Silence => ({
    id: "s",
    matchers,
    starts_at: 0,
    ends_at: 1,
    created_by: "",
    created_at: 0,
    comment: "",
    deleted_by: "",
    deleted_at: null,
    status: "active",
  });
  it.each<[Silence["matchers"], boolean]>([
    [[], true],
    [[{ name: "host", value: "gpu-1", op: "=" }], true],
    [[{ name: "host", value: "gpu-2", op: "=" }], false],
    [[{ name: "host", value: "gpu-2", op: "!=" }], true],
    [[{ name: "host", value: "gpu-.*", op: "=~" }], true],
    [[{ name: "host", value: "api-.*", op: "=~" }], false],
    [[{ name: "host", value: "gpu-.*", op: "!~" }], false],
    [[{ name: "host", value: "([", op: "=~" }], true],
    [[{ name: "rule", value: "cpu_high", op: "=" }], true],
  ])("%j covers gpu-1: %s", (matchers, expected) => {
    expect(silenceApplies(silence(matchers), "gpu-1")).toBe(expected);
  });
});

describe("sortAlerts", () => {
  it("puts critical first, then the oldest", () => {
    const sorted = sortAlerts([
      alert({ alert_id: "w-new", severity: "warning", started_at: 50 }),
      alert({ alert_id: "c", severity: "critical", started_at: 90 }),
      alert({ alert_id: "w-old", severity: "warning", started_at: 10 }),
      alert({ alert_id: "i", severity: "info", started_at: 1 }),
    ]);
    expect(sorted.map((a) => a.alert_id)).toEqual(["c", "w-old", "w-new", "i"]);
  });
});

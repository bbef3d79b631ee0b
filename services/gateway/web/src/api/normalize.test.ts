import { describe, expect, it } from "vitest";
import { alert, sample } from "../test/make";
import {
  alertsFrom,
  alertState,
  annotationsFrom,
  anomaliesFrom,
  applyAlertEvent,
  fleetFrom,
  healthFrom,
  historyFrom,
  hostCurrentFrom,
  hostsFrom,
  servicesFrom,
  silencesFrom,
} from "./normalize";

describe("hostsFrom", () => {
  it("reads the gateway's host list", () => {
    const hosts = hostsFrom({ hosts: [{ host: "vm", last_seen: 12.5, status: "up" }, { host: "old", last_seen: 1, status: "stale" }] });
    expect(hosts).toEqual([
      { host: "vm", lastSeen: 12.5, status: "up", labels: {}, info: null },
      { host: "old", lastSeen: 1, status: "stale", labels: {}, info: null },
    ]);
  });

  it("takes labels from the entry and its host facts, and skips nameless entries", () => {
    const hosts = hostsFrom({ hosts: [{ host: "a", status: "weird", labels: { env: "prod", n: 1 }, info: { labels: { zone: "z1" } } }, { status: "up" }] });
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ host: "a", status: "stale", lastSeen: null, labels: { env: "prod", zone: "z1" } });
  });

  it.each([null, "text", 42, { hosts: "no" }])("reads %j as no hosts", (json) => {
    expect(hostsFrom(json)).toEqual([]);
  });
});

describe("fleetFrom and hostCurrentFrom", () => {
  it("reads the fleet's samples, bare or wrapped, and skips what is not a sample", () => {
    const a = sample("a", 1);
    const b = sample("b", 2);
    const fleet = fleetFrom({ hosts: { a, b: { metrics: b }, c: { nope: true } } });
    expect([...fleet.keys()]).toEqual(["a", "b"]);
    expect(fleet.get("b")).toBe(b);
  });

  it("reads one host with its apps", () => {
    const s = sample("a", 1);
    const current = hostCurrentFrom({ host: "a", metrics: s, apps: { api: { ts: 1, host: "a", window: 10 } } });
    expect(current?.sample).toBe(s);
    expect(current?.apps.map((x) => x.app)).toEqual(["api"]);
    expect(hostCurrentFrom({ host: "a" })).toBeNull();
  });
});

describe("historyFrom", () => {
  const expected = { ts: [10, 20, 30], values: [1, 2, 3] };
  it.each([
    { name: "a bare list of pairs", json: [[10, 1], [20, 2], [30, 3]] },
    { name: "points as pairs", json: { metric: "cpu.percent", points: [[10, 1], [20, 2], [30, 3]] } },
    { name: "unsorted points", json: { points: [[30, 3], [10, 1], [20, 2]] } },
    { name: "rollups [t, min, mean, max, last] read as the mean", json: { points: [[10, 0, 1, 9, 5], [20, 0, 2, 9, 5], [30, 0, 3, 9, 5]] } },
    { name: "objects with value", json: { data: [{ ts: 10, value: 1 }, { ts: 20, value: 2 }, { ts: 30, value: 3 }] } },
    { name: "rollup objects", json: { points: [{ ts: 10, min: 0, mean: 1, max: 4 }, { ts: 20, mean: 2 }, { t: 30, v: 3 }] } },
    { name: "series keyed by name", json: { series: { "cpu.percent": [[10, 1], [20, 2], [30, 3]], other: [[1, 1]] } } },
    { name: "a list of named series", json: { series: [{ name: "other", points: [[1, 1]] }, { name: "cpu.percent", points: [[10, 1], [20, 2], [30, 3]] }] } },
    { name: "bad points skipped", json: { points: [[10, 1], [null, 5], ["x", 1], [20, 2], [30, 3], {}] } },
    { name: "equal times keep the later value", json: { points: [[10, 1], [20, 7], [20, 2], [30, 3]] } },
  ])("$name", ({ json }) => {
    expect(historyFrom(json, "cpu.percent")).toEqual(expected);
  });

  it.each([{}, null, { series: { a: [], b: [] } }, { series: [] }])("reads %j as empty", (json) => {
    expect(historyFrom(json, "cpu.percent")).toEqual({ ts: [], values: [] });
  });
});

describe("alerts", () => {
  it.each([
    ["firing", undefined, "firing"],
    ["escalated", undefined, "firing"],
    ["reminder", undefined, "firing"],
    ["acknowledged", undefined, "acknowledged"],
    ["silenced", undefined, "silenced"],
    ["resolved", undefined, "resolved"],
    ["firing", "acknowledged", "acknowledged"],
    ["firing", "bogus", "firing"],
  ])("event %s, state %s → %s", (event, explicit, expected) => {
    expect(alertState(event, explicit)).toBe(expected);
  });

  it("reads AlertEvents, bare or wrapped with a state", () => {
    const list = alertsFrom({
      alerts: [
        { id: "e1", alert_id: "a1", event: "firing", rule: "cpu_high", host: "h", severity: "critical", ts: 5, started_at: 4 },
        { state: "acknowledged", alert: { alert_id: "a2", rule: "disk", host: "h", severity: "bogus", ts: 6 } },
        { alert_id: "a3" },
      ],
    });
    expect(list.map((a) => [a.alert_id, a.state, a.severity, a.started_at])).toEqual([
      ["a1", "firing", "critical", 4],
      ["a2", "acknowledged", "warning", 6],
    ]);
  });

  it("applies live events: new, updated, older, resolved", () => {
    const a = alert({ alert_id: "a", ts: 100, started_at: 90 });
    let list = applyAlertEvent([], a);
    expect(list).toEqual([a]);
    list = applyAlertEvent(list, alert({ alert_id: "a", ts: 110, started_at: 0, state: "acknowledged", acknowledged_by: "ann" }));
    expect(list[0]).toMatchObject({ state: "acknowledged", acknowledged_by: "ann", started_at: 90 });
    expect(applyAlertEvent(list, alert({ alert_id: "a", ts: 50 }))).toBe(list);
    expect(applyAlertEvent(list, alert({ alert_id: "a", ts: 120, state: "resolved" }))).toEqual([]);
  });
});

describe("servicesFrom", () => {
  it("reads flat check results with uptime and latency percentiles", () => {
    const checks = servicesFrom({
      services: [
        { host: "h", check: "api", check_kind: "http", ok: true, latency_ms: 12, ts: 5, uptime_percent: 99.5, latency_ms_p50: 1, p50_ms: 10, p95_ms: 30 },
        { host: "h", check: "db", kind: "tcp", status: "failing", reason: "refused", uptime: 0.5, latency: { p50: 2, p95: 4 } },
      ],
    });
    expect(checks[0]).toMatchObject({ check: "api", kind: "http", ok: true, latencyMs: 12, p50Ms: 10, p95Ms: 30, uptimePercent: 99.5, lastTs: 5 });
    expect(checks[1]).toMatchObject({ check: "db", kind: "tcp", ok: false, reason: "refused", uptimePercent: 50, p50Ms: 2, p95Ms: 4 });
  });

  it("reads results nested under the latest run, keyed by name", () => {
    const checks = servicesFrom({ checks: { redis: { last: { host: "h", ok: true, latency_ms: 1, check_kind: "redis" }, uptime: 1 } } });
    expect(checks).toEqual([
      { host: "h", check: "redis", kind: "redis", ok: true, reason: "", lastTs: null, latencyMs: 1, p50Ms: null, p95Ms: null, uptimePercent: 100 },
    ]);
  });
});

describe("silences, annotations, anomalies, health", () => {
  it("reads silences", () => {
    const s = silencesFrom({ silences: [{ id: "s1", matchers: [{ name: "host", value: "h" }], starts_at: 1, ends_at: 2, by: "ann", comment: "maint" }, { nope: 1 }] });
    expect(s).toEqual([{ id: "s1", matchers: [{ name: "host", value: "h", op: "=" }], startsAt: 1, endsAt: 2, createdBy: "ann", comment: "maint" }]);
  });

  it("reads annotations sorted by time, skipping the malformed", () => {
    const a = annotationsFrom({ annotations: [{ id: "2", ts: 20, text: "deploy v2" }, { ts: 10, text: "deploy v1" }, { ts: "x", text: "bad" }] });
    expect(a.map((x) => [x.id, x.text])).toEqual([
      ["10", "deploy v1"],
      ["2", "deploy v2"],
    ]);
  });

  it("reads anomaly flags of one host", () => {
    const flags = anomaliesFrom({ anomalies: [{ host: "h", series: "cpu.percent", ts: 5, score: 4.2 }, { host: "other", series: "cpu.percent", ts: 6 }, { metric: "memory.percent", at: 7, reason: "spike" }] }, "h");
    expect(flags).toEqual([
      { series: "cpu.percent", ts: 5, score: 4.2, summary: "" },
      { series: "memory.percent", ts: 7, score: null, summary: "spike" },
    ]);
  });

  it.each([
    [{ hosts: [{ host: "a", score: 91 }] }, [["a", 91]]],
    [{ hosts: { a: { health_score: 40, status: "poor" } } }, [["a", 40]]],
    [{ host: "a", score: 77 }, [["a", 77]]],
    [{ hosts: [{ host: "a" }] }, []],
  ])("reads health %j", (json, expected) => {
    expect([...healthFrom(json).values()].map((h) => [h.host, h.score])).toEqual(expected);
  });
});

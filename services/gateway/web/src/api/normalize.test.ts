import { describe, expect, it } from "vitest";
import { alert } from "../test/make";
import { body, recorded } from "../test/recorded";
import {
  alertsFrom,
  alertState,
  analyticsFrom,
  annotationsFrom,
  applyAlertEvent,
  attemptsFrom,
  componentsFrom,
  flagsOf,
  fleetFrom,
  healthFrom,
  historyFrom,
  hostCurrentFrom,
  hostsFrom,
  recommendationsFrom,
  rulesFrom,
  servicesFrom,
  silencesFrom,
  toAlert,
} from "./normalize";
import type { AlertEvent } from "./types";

describe("hosts and current metrics (recorded answers)", () => {
  it("reads the host list with each host's facts and labels", () => {
    const hosts = hostsFrom(body("hosts"));
    expect(hosts.map((h) => [h.host, h.status, h.alerts])).toEqual([
      ["gpu-h100", "up", 0],
      ["vm", "up", 1],
    ]);
    expect(hosts[0].labels).toEqual({ env: "prod", role: "gpu-worker" });
    expect(hosts[0].info?.cpu_model).toBe("AMD EPYC 9454 48-Core Processor");
    expect(hosts[1]).toMatchObject({ info: null, labels: {}, lastSeen: 1795732119.406693 });
  });

  it("reads the fleet's compact summaries", () => {
    const fleet = fleetFrom(body("fleet"));
    expect([...fleet.keys()]).toEqual(["gpu-h100", "vm"]);
    expect(fleet.get("gpu-h100")).toMatchObject({ cpu: { percent: 56.3, count: 16 }, gpus: [{ index: 0, utilization: 79.4 }], temperature: 53.6 });
    // Fields left out of an answer (no GPU, no swap) stay absent.
    expect(fleet.get("vm")?.gpus).toBeUndefined();
  });

  it("reads one host's whole sample with its applications and checks", () => {
    const current = hostCurrentFrom(body("host"));
    expect(current?.host).toBe("gpu-h100");
    expect(current?.status).toBe("up");
    expect(current?.sample.cpu.percent).toBe(58.7);
    expect(current?.apps.map((a) => a.app)).toEqual(["transcriber"]);
    expect(current?.checks.map((c) => c.check).sort()).toEqual(["api", "asr-health", "postgres"]);
  });

  it.each([null, "text", { host: "a" }, { hosts: "no" }])("reads %j as nothing", (json) => {
    expect(hostsFrom(json)).toEqual([]);
    expect(fleetFrom(json).size).toBe(0);
    expect(hostCurrentFrom(json)).toBeNull();
  });
});

describe("historyFrom (recorded answers)", () => {
  it("reads raw points: one a second, t and mean", () => {
    const series = historyFrom(body("history-raw")).get("cpu.percent");
    expect(series?.step).toBe(1);
    expect(series?.ts).toHaveLength(20);
    expect((series?.ts[1] ?? 0) - (series?.ts[0] ?? 0)).toBe(1);
    expect(series?.values[0]).toBe(58.5);
  });

  it("reads 1-minute rollups as their means", () => {
    const series = historyFrom(body("history-rollup")).get("cpu.percent");
    expect(series?.step).toBe(60);
    expect(series?.ts.slice(0, 2)).toEqual([1795728720, 1795728780]);
    expect(series?.values[0]).toBeCloseTo(41.05, 2);
  });

  it("reads every labelled series of a name under its full name", () => {
    const history = historyFrom(body("history-labelled"));
    expect([...history.keys()].sort()).toEqual(["disk.percent{mount=/usr/local/nvidia}", "disk.percent{mount=/}"]);
    expect(history.get("disk.percent{mount=/}")?.values[0]).toBeCloseTo(71.16, 2);
  });

  it("keeps a point without a value as a gap (null) and skips repeated times", () => {
    const history = historyFrom({ step: 1, series: [{ series: "x", points: { t: [1, 2, 2, 3, 4], mean: [1, 2, 9, null, 4] } }] });
    expect(history.get("x")).toEqual({ step: 1, ts: [1, 2, 3, 4], values: [1, 2, null, 4] });
  });
});

describe("alerts (recorded answers)", () => {
  it.each([
    ["firing", "firing"],
    ["severity_changed", "firing"],
    ["escalated", "firing"],
    ["reminder", "firing"],
    ["unsilenced", "firing"],
    ["acknowledged", "acknowledged"],
    ["silenced", "silenced"],
    ["resolved", "resolved"],
  ] as const)("an alert whose latest event is %s is %s", (event, state) => {
    expect(alertState(event)).toBe(state);
  });

  it("reads the active alerts, each its latest event", () => {
    const active = alertsFrom(body("alerts"));
    const vm = active.find((a) => a.host === "vm");
    expect(vm).toMatchObject({ alert_id: "0b5531caefed31f7", rule: "memory_in_use", state: "acknowledged", acknowledged_by: "admin", comment: "known: the rule is a test" });
  });

  it("reads the history: every event since, oldest first", () => {
    const events = alertsFrom(body("alerts-since"));
    expect(events.filter((a) => a.alert_id === "0b5531caefed31f7").map((a) => a.state)).toEqual(["firing", "acknowledged"]);
  });

  it("applies live events: new, updated, older, resolved", () => {
    const a = alert({ alert_id: "a", ts: 100, started_at: 90 });
    let list = applyAlertEvent([], a);
    expect(list).toEqual([a]);
    list = applyAlertEvent(list, toAlert({ ...a, id: "e2", event: "acknowledged", ts: 110, acknowledged_by: "ann" } as AlertEvent));
    expect(list[0]).toMatchObject({ state: "acknowledged", acknowledged_by: "ann", started_at: 90 });
    expect(applyAlertEvent(list, alert({ alert_id: "a", ts: 50 }))).toBe(list);
    expect(applyAlertEvent(list, alert({ alert_id: "a", ts: 120, event: "resolved", state: "resolved" }))).toEqual([]);
  });

  it("skips items that are not alert events", () => {
    expect(alertsFrom({ alerts: [{ kind: "alert", alert_id: "x" }, { rule: "r", alert_id: "y", ts: 1 }] })).toEqual([]);
  });
});

describe("checks, rules, silences, notifications, annotations (recorded answers)", () => {
  it("reads service checks with 24 h uptime and response times", () => {
    const checks = servicesFrom(body("services"));
    const flaky = checks.find((c) => c.check === "asr-health");
    expect(flaky).toMatchObject({ kind: "http", group: "transcriber", ok: true, uptime_percent: 82.609 });
    expect(flaky?.latency_max_ms).toBeGreaterThan(flaky?.latency_mean_ms ?? Infinity);
  });

  it("reads the alerter's rules and silences out of the gateway's `data` wrapper", () => {
    const rules = rulesFrom(body("rules"));
    expect(rules.filter((r) => !r.builtin).map((r) => r.name)).toEqual(["memory_in_use", "gpu_busy"]);
    expect(rules.find((r) => r.name === "host_down")?.kind).toBe("absence");
    const [silence] = silencesFrom(body("silences"));
    expect(silence).toMatchObject({ created_by: "admin", comment: "batch re-encode tonight", status: "active" });
    expect(silence.matchers).toEqual([
      { name: "host", value: "gpu-h100", op: "=" },
      { name: "rule", value: "gpu_busy", op: "=" },
    ]);
  });

  it("reads the notifier's delivery attempts, newest first", () => {
    const [attempt] = attemptsFrom(body("notifications"));
    expect(attempt).toMatchObject({ receiver: "webhook", result: "delivered", status: 200, attempt: 1 });
  });

  it("reads annotations oldest first", () => {
    const notes = annotationsFrom(body("annotations"));
    expect(notes.map((n) => [n.text, n.host, n.tags])).toEqual([["deploy transcriber 2.4.1", "gpu-h100", ["deploy"]]]);
    expect(annotationsFrom({ annotations: [{ ts: 2, text: "b" }, { ts: 1, text: "a" }, { ts: "x", text: "bad" }] }).map((a) => a.text)).toEqual(["a", "b"]);
  });
});

describe("analytics (recorded answers)", () => {
  it("reads health scores for the fleet, each host and each check group", () => {
    const health = healthFrom(body("health"));
    // The H100's read-only image (squashfs, always 100 %) fires the built-in disk_full.
    expect(health?.fleet?.worst).toBe("host:gpu-h100");
    expect(health?.hosts.map((h) => [h.host, h.score])).toEqual([
      ["gpu-h100", 75],
      ["vm", 90],
    ]);
    expect(health?.hosts[1].parts.find((p) => p.kind === "alert")?.penalty).toBe(10);
    expect(health?.groups.map((g) => g.group)).toEqual(["transcriber"]);
    expect(healthFrom(body("health-host"))?.fleet).toBeNull();
    expect(healthFrom({ detail: "not found" })).toBeNull();
  });

  it("reads a host's anomaly flags with the value flagged", () => {
    const answer = analyticsFrom(body("analytics"), "gpu-h100");
    const flags = flagsOf(answer);
    const cpu = flags.filter((f) => f.series === "cpu.percent");
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu[0].value).toBe(99);
    expect(cpu[0].expected).toBeLessThan(cpu[0].value);
    expect(flags.map((f) => f.ts)).toEqual([...flags.map((f) => f.ts)].sort((a, b) => a - b));
    expect(analyticsFrom(body("analytics"), "other")).toBeNull();
  });

  it("reads recommendations with their evidence, and components", () => {
    const [rec] = recommendationsFrom(body("optimization"));
    expect(rec).toMatchObject({ rule: "check_flapping", severity: "warning", host: "gpu-h100" });
    expect(rec.evidence.map((e) => e.statistic)).toEqual(["state changes", "share of results up"]);
    const components = componentsFrom(body("components"), "gpu-h100");
    expect(components?.components.find((c) => c.component === "workers")?.names).toEqual(["python3"]);
    expect(componentsFrom(body("components"), "nope")).toBeNull();
  });

  it("an unknown route answers 404 'not found'", () => {
    expect(recorded("unknown-route")).toEqual({ status: 404, body: { detail: "not found" } });
  });
});

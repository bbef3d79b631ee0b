import { describe, expect, it } from "vitest";
import { healthFrom } from "../api/normalize";
import { alert, entry, row, summary } from "../test/make";
import { body } from "../test/recorded";
import { alertCounts, buildRows, filterRows, hostStatus, labelKeys, sortRows, summarize } from "./fleet";

describe("hostStatus", () => {
  it.each([
    { lastSeen: 995, now: 1000, reported: null, expected: "up" },
    { lastSeen: 995, now: 1000, reported: "stale", expected: "stale" },
    { lastSeen: 960, now: 1000, reported: "up", expected: "stale" },
    { lastSeen: 600, now: 1000, reported: "up", expected: "down" },
    { lastSeen: 999, now: 1000, reported: "down", expected: "down" },
    { lastSeen: null, now: 1000, reported: null, expected: "down" },
    { lastSeen: null, now: 1000, reported: "up", expected: "up" },
  ] as const)("seen $lastSeen at $now, gateway says $reported → $expected", ({ lastSeen, now, reported, expected }) => {
    expect(hostStatus(lastSeen, now, reported)).toBe(expected);
  });
});

describe("alertCounts", () => {
  it("counts firing and acknowledged alerts per host and severity, not silenced or resolved", () => {
    const counts = alertCounts([
      alert({ alert_id: "a", host: "h1", severity: "critical" }),
      alert({ alert_id: "b", host: "h1", severity: "warning", state: "acknowledged" }),
      alert({ alert_id: "c", host: "h1", severity: "warning", state: "silenced" }),
      alert({ alert_id: "d", host: "h1", severity: "info", state: "resolved" }),
      alert({ alert_id: "e", host: "h2", severity: "info" }),
    ]);
    expect(counts.get("h1")).toEqual({ critical: 1, warning: 1, info: 0 });
    expect(counts.get("h2")).toEqual({ critical: 0, warning: 0, info: 1 });
  });
});

describe("buildRows", () => {
  it("joins the host list, the latest summaries, alerts and health", () => {
    const scores = [{ host: "a", score: 87, status: "healthy" as const, parts: [], last_seen: 995 }];
    const rows = buildRows(
      [entry("a", { lastSeen: 990, labels: { env: "prod" } }), entry("b", { lastSeen: 500 })],
      new Map([
        ["a", summary(995, 40, 50, [10, 70])],
        ["c", summary(999, 1, 2)],
      ]),
      [alert({ alert_id: "x", host: "a", severity: "critical" })],
      scores,
      1000,
    );
    const byHost = Object.fromEntries(rows.map((r) => [r.host, r]));
    expect(byHost.a).toMatchObject({ status: "up", lastSeen: 995, cpu: 40, memory: 50, gpu: 70, labels: { env: "prod" } });
    expect(byHost.a.health?.score).toBe(87);
    expect(byHost.a.alerts.critical).toBe(1);
    expect(byHost.b).toMatchObject({ status: "down", cpu: null, gpu: null, health: null });
    expect(byHost.c).toMatchObject({ status: "up", cpu: 1 });
  });

  it("takes each host's score from the recorded health answer", () => {
    const health = healthFrom(body("health"));
    const rows = buildRows([entry("vm"), entry("gpu-h100")], new Map(), null, health?.hosts ?? null, 1000);
    expect(rows.map((r) => [r.host, r.health?.score])).toEqual([
      ["vm", 90],
      ["gpu-h100", 75],
    ]);
  });

  it("trusts a live summary newer than the host list's stale", () => {
    const rows = buildRows([entry("a", { lastSeen: 900, status: "stale" })], new Map([["a", summary(999)]]), null, null, 1000);
    expect(rows[0].status).toBe("up");
  });

  it("marks a host down while a host-down alert is active", () => {
    const rows = buildRows([entry("a", { lastSeen: 999 })], new Map(), [alert({ alert_id: "x", host: "a", rule: "host_down" })], null, 1000);
    expect(rows[0].status).toBe("down");
  });
});

describe("filterRows", () => {
  const rows = [
    row("api-1", { labels: { env: "prod", role: "api" } }),
    row("gpu-1", { labels: { env: "prod", role: "worker" }, status: "stale" }),
    row("gpu-2", { labels: { env: "staging", role: "worker" }, status: "down" }),
  ];
  it.each([
    ["", ["api-1", "gpu-1", "gpu-2"]],
    ["gpu", ["gpu-1", "gpu-2"]],
    ["env=prod", ["api-1", "gpu-1"]],
    ["ENV:Prod", ["api-1", "gpu-1"]],
    ["env=prod role=worker", ["gpu-1"]],
    ["status:down", ["gpu-2"]],
    ["host=api", ["api-1"]],
    ["staging", ["gpu-2"]],
    ["env=dev", []],
  ])("%j → %j", (query, expected) => {
    expect(filterRows(rows, query).map((r) => r.host)).toEqual(expected);
  });
});

describe("sortRows", () => {
  const scored = (score: number) => ({ host: "", score, status: "healthy" as const, parts: [], last_seen: null });
  const rows = [
    row("b", { cpu: 50, status: "up", alerts: { critical: 0, warning: 2, info: 0 }, health: scored(40) }),
    row("a", { cpu: null, status: "down", alerts: { critical: 1, warning: 0, info: 0 }, health: scored(90) }),
    row("c", { cpu: 90, status: "stale", alerts: { critical: 0, warning: 0, info: 5 }, health: scored(70) }),
    row("d", { cpu: 50, status: "up" }),
  ];
  it.each([
    ["host", "asc", ["a", "b", "c", "d"]],
    ["host", "desc", ["d", "c", "b", "a"]],
    ["status", "asc", ["a", "c", "b", "d"]],
    ["cpu", "desc", ["c", "b", "d", "a"]],
    ["cpu", "asc", ["b", "d", "c", "a"]],
    ["alerts", "desc", ["a", "b", "c", "d"]],
    ["health", "asc", ["b", "c", "a", "d"]],
  ] as const)("by %s %s", (key, dir, expected) => {
    expect(sortRows(rows, key, dir).map((r) => r.host)).toEqual(expected);
  });
});

describe("summaries", () => {
  it("counts statuses and alerts, and lists label keys", () => {
    const rows = [
      row("a", { status: "down", labels: { zone: "a" }, alerts: { critical: 1, warning: 0, info: 0 } }),
      row("b", { labels: { env: "prod" }, alerts: { critical: 0, warning: 2, info: 1 } }),
    ];
    expect(summarize(rows)).toEqual({ up: 1, stale: 0, down: 1, alerts: { critical: 1, warning: 2, info: 1 } });
    expect(labelKeys(rows)).toEqual(["env", "zone"]);
  });
});

// The fleet table: one row per host, its status, alert counts, filtering and sorting.
import type { Alert, HostEntry, HostHealth, HostStatus, HostSummary, Severity } from "../api/types";
import { busiestGpu } from "./summary";

/** A host silent this long is down, whatever the gateway's `stale` says. */
export const DOWN_AFTER_S = 300;
export const STALE_AFTER_S = 30;

export type SeverityCounts = Record<Severity, number>;

export interface FleetRow {
  host: string;
  status: HostStatus;
  lastSeen: number | null;
  labels: Record<string, string>;
  health: HostHealth | null;
  alerts: SeverityCounts;
  cpu: number | null;
  memory: number | null;
  gpu: number | null;
  os: string;
}

/** The alerter's built-in rule for a host that stopped reporting. */
export const HOST_DOWN_RULE = "host_down";

export const emptyCounts = (): SeverityCounts => ({ critical: 0, warning: 0, info: 0 });

/** Up, stale or down from when the host was last heard of; a "host down" alert wins. */
export function hostStatus(
  lastSeen: number | null,
  now: number,
  reported: HostStatus | null,
  staleAfter = STALE_AFTER_S,
  downAfter = DOWN_AFTER_S,
): HostStatus {
  if (reported === "down") return "down";
  if (lastSeen === null) return reported ?? "down";
  const age = now - lastSeen;
  if (age > downAfter) return "down";
  if (age > staleAfter || reported === "stale") return "stale";
  return "up";
}

/** Active alerts (not resolved, not silenced) per host and severity. */
export function alertCounts(alerts: Alert[]): Map<string, SeverityCounts> {
  const out = new Map<string, SeverityCounts>();
  for (const a of alerts) {
    if (a.state === "resolved" || a.state === "silenced") continue;
    let counts = out.get(a.host);
    if (!counts) {
      counts = emptyCounts();
      out.set(a.host, counts);
    }
    counts[a.severity] += 1;
  }
  return out;
}

/** Whether an active host-down alert says the host is down. */
export function reportedDown(alerts: Alert[], host: string): boolean {
  return alerts.some((a) => a.host === host && a.rule === HOST_DOWN_RULE && a.state !== "resolved");
}

export function buildRows(
  hosts: HostEntry[],
  summaries: Map<string, HostSummary | null>,
  alerts: Alert[] | null,
  health: HostHealth[] | null,
  now: number,
): FleetRow[] {
  const counts = alertCounts(alerts ?? []);
  const names = new Set([...hosts.map((h) => h.host), ...summaries.keys()]);
  const byName = new Map(hosts.map((h) => [h.host, h]));
  const scores = new Map((health ?? []).map((h) => [h.host, h]));
  return [...names].map((host) => {
    const entry = byName.get(host);
    const summary = summaries.get(host) ?? null;
    const lastSeen = Math.max(entry?.lastSeen ?? -Infinity, summary?.ts ?? -Infinity);
    const seen = Number.isFinite(lastSeen) ? lastSeen : null;
    // The gateway's `stale` is as of its cached answer: a newer live sample overrides it.
    const reported = reportedDown(alerts ?? [], host) ? "down" : summary && entry && summary.ts > entry.lastSeen ? null : (entry?.status ?? null);
    return {
      host,
      status: hostStatus(seen, now, reported),
      lastSeen: seen,
      labels: entry?.labels ?? {},
      health: scores.get(host) ?? null,
      alerts: counts.get(host) ?? emptyCounts(),
      cpu: summary?.cpu.percent ?? null,
      memory: summary?.memory.percent ?? null,
      gpu: busiestGpu(summary),
      os: entry?.info?.os ?? "",
    };
  });
}

/**
 * Every word of the query must match: `key=value` (or `key:value`) matches a label exactly,
 * `status:down` a status, anything else a part of the host name or of a label value.
 */
export function filterRows(rows: FleetRow[], query: string): FleetRow[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((row) =>
    words.every((word) => {
      const sep = word.search(/[=:]/);
      if (sep > 0) {
        const key = word.slice(0, sep);
        const value = word.slice(sep + 1);
        if (key === "status") return row.status === value;
        if (key === "host") return row.host.toLowerCase().includes(value);
        return Object.entries(row.labels).some(([k, v]) => k.toLowerCase() === key && v.toLowerCase() === value);
      }
      if (row.host.toLowerCase().includes(word)) return true;
      return Object.entries(row.labels).some(([k, v]) => k.toLowerCase().includes(word) || v.toLowerCase().includes(word));
    }),
  );
}

export type SortKey = "host" | "status" | "health" | "alerts" | "cpu" | "memory" | "gpu";
export type SortDir = "asc" | "desc";

const STATUS_RANK: Record<HostStatus, number> = { down: 0, stale: 1, up: 2 };

function alertWeight(c: SeverityCounts): number {
  return c.critical * 1e6 + c.warning * 1e3 + c.info;
}

function sortValue(row: FleetRow, key: SortKey): number | string | null {
  switch (key) {
    case "host":
      return row.host;
    case "status":
      return STATUS_RANK[row.status];
    case "alerts":
      return alertWeight(row.alerts);
    case "health":
      return row.health?.score ?? null;
    default:
      return row[key];
  }
}

/** Sorted copy; hosts without a value go last whatever the direction; ties by name. */
export function sortRows(rows: FleetRow[], key: SortKey, dir: SortDir): FleetRow[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null && vb !== null) return 1;
    if (vb === null && va !== null) return -1;
    if (va !== null && vb !== null && va !== vb) return (va < vb ? -1 : 1) * sign;
    return a.host.localeCompare(b.host);
  });
}

/** The label keys present in the fleet, for the filter's suggestions. */
export function labelKeys(rows: FleetRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.labels)) keys.add(k);
  return [...keys].sort();
}

export function summarize(rows: FleetRow[]): { up: number; stale: number; down: number; alerts: SeverityCounts } {
  const out = { up: 0, stale: 0, down: 0, alerts: emptyCounts() };
  for (const r of rows) {
    out[r.status] += 1;
    out.alerts.critical += r.alerts.critical;
    out.alerts.warning += r.alerts.warning;
    out.alerts.info += r.alerts.info;
  }
  return out;
}

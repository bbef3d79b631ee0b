// What the dashboard works with. Bus events come from the generated `events.ts`; the
// shapes below are the dashboard's own view of the REST answers, filled by `normalize.ts`.
import type { AlertEvent, AppMetrics, HostInfo, MetricSample } from "./events";

export type { AlertEvent, Annotation, AppMetrics, BusEvent, CheckResult, HostInfo, MetricSample } from "./events";
export type { components, paths } from "./schema";

export type Role = "admin" | "viewer";
export type HostStatus = "up" | "stale" | "down";
export type Severity = AlertEvent["severity"];
export type AlertState = "firing" | "acknowledged" | "silenced" | "resolved";

export interface HostEntry {
  host: string;
  lastSeen: number | null;
  status: HostStatus;
  labels: Record<string, string>;
  info: HostInfo | null;
}

export interface HostCurrent {
  host: string;
  sample: MetricSample;
  apps: AppMetrics[];
  info: HostInfo | null;
}

export interface Alert extends AlertEvent {
  state: AlertState;
  started_at: number;
}

export interface ServiceCheck {
  host: string;
  check: string;
  kind: string;
  ok: boolean;
  reason: string;
  lastTs: number | null;
  latencyMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Percent (0–100) of the recent runs that passed, when the gateway computes it. */
  uptimePercent: number | null;
}

export interface Matcher {
  name: string;
  value: string;
  op: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export interface Anomaly {
  series: string;
  ts: number;
  score: number | null;
  summary: string;
}

export interface HealthScore {
  host: string;
  score: number;
  status: string;
}

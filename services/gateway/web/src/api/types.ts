// What the dashboard works with. Bus events come from the generated `events.ts`, REST
// answers from `schema.ts` (the gateway's OpenAPI document), the analytics answers from
// `analytics.ts`. The alerter's and the notifier's answers reach the dashboard through the
// gateway's `Relayed` wrapper (`{"data": ...}`, untyped in OpenAPI): their shapes are
// written out below, after the Structs that make them (vitals_alerter.silences.Silence,
// vitals_alerter rule_list, vitals_core.control.AttemptRecord).
import type { AlertEvent, AppMetrics, CheckResult, HostInfo, MetricSample } from "./events";
import type { components } from "./schema";

export type { AlertEvent, Annotation, AppMetrics, BusEvent, CheckResult, HostInfo, MetricSample } from "./events";
export type {
  AnalyticsAnswer,
  AnalyticsListAnswer,
  AnomalyFlag,
  Capacity,
  ComponentsAnswer,
  ComponentUsage,
  Evidence,
  FleetHealth,
  GroupHealth,
  HealthAnswer,
  HostComponents,
  HostHealth,
  OptimizationAnswer,
  Recommendation,
  ScorePart,
} from "./analytics";
export type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type HostSummary = Schemas["HostSummary"];
export type HostMetrics = Schemas["HostMetrics"];
export type History = Schemas["History"];
export type PointColumns = Schemas["PointColumns"];
export type ServiceStatus = Schemas["ServiceStatus"];
export type TokenResponse = Schemas["TokenResponse"];

/** `/healthz`: whether the gateway serves (`ok`, `degraded`) or not, and why. */
export interface GatewayHealth {
  status: Schemas["Health"]["status"];
  reasons: string[];
}

export type Role = "admin" | "viewer";
/** The gateway says up or stale; the dashboard adds down (silent 5 min, or a host-down alert). */
export type HostStatus = "up" | "stale" | "down";
export type Severity = AlertEvent["severity"];
export type AlertState = "firing" | "acknowledged" | "silenced" | "resolved";

export interface HostEntry {
  host: string;
  lastSeen: number;
  status: HostStatus;
  /** Active alerts, as the gateway counts them. */
  alerts: number;
  labels: Record<string, string>;
  info: HostInfo | null;
}

/** `GET /admin/system/metrics?host=`: the latest sample with the apps and checks. */
export interface HostCurrent {
  host: string;
  status: HostStatus;
  lastSeen: number;
  sample: MetricSample;
  apps: AppMetrics[];
  checks: CheckResult[];
}

/** An alert event with the state its event puts the alert in. */
export interface Alert extends AlertEvent {
  state: AlertState;
}

/** One series of a history answer, and the step its points are spaced by (1 s raw); a null
 * value is a gap (no data there). */
export interface SeriesHistory {
  step: number;
  ts: number[];
  values: (number | null)[];
}

export interface Matcher {
  name: string;
  value: string;
  op: "=" | "!=" | "=~" | "!~";
}

/** vitals_alerter.silences.Silence, as `silence_list` shows it. */
export interface Silence {
  id: string;
  matchers: Matcher[];
  starts_at: number;
  ends_at: number;
  created_by: string;
  created_at: number;
  comment: string;
  deleted_by: string;
  deleted_at: number | null;
  status: "pending" | "active" | "expired";
}

/** A rule as the alerter's `rule_list` compiles it (the fields the dashboard shows). */
export interface Rule {
  name: string;
  kind: "threshold" | "absence" | "forecast" | "rate";
  metric: string;
  select: string[];
  op: "above" | "below";
  warning: number | null;
  critical: number | null;
  for: number;
  summary: string;
  builtin?: boolean;
}

/** vitals_core.control.AttemptRecord: one delivery attempt of the notifier. */
export interface NotificationAttempt {
  id: string;
  receiver: string;
  channel: string;
  attempt: number;
  at: number;
  latency_ms: number;
  result: "delivered" | "retry" | "dead" | "refused" | string;
  status?: number | null;
  error?: string;
  next_at?: number | null;
  group_key?: string;
}

/** An anomaly flag of one series, placed on its chart. */
export interface SeriesFlag {
  series: string;
  ts: number;
  value: number;
  expected: number;
  score: number;
}

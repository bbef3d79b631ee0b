// Turn the gateway's JSON answers into the dashboard's shapes. The shapes are the
// gateway's own (types generated from its OpenAPI document); the readers only refuse what
// would break a page (an answer that is not an object, an item without its key), so a
// damaged item empties a row, never a page.
import type {
  Alert,
  AlertEvent,
  AlertState,
  AnalyticsAnswer,
  Annotation,
  GatewayHealth,
  HealthAnswer,
  HostComponents,
  HostCurrent,
  HostEntry,
  HostSummary,
  MetricSample,
  NotificationAttempt,
  Recommendation,
  Rule,
  SeriesFlag,
  SeriesHistory,
  ServiceStatus,
  Silence,
} from "./types";
import { arr, num, obj, str } from "./guards";

function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === "string") out[k] = val;
  return out;
}

function isSample(v: unknown): v is MetricSample {
  const o = obj(v);
  return typeof o.host === "string" && typeof o.ts === "number" && !!o.cpu && !!o.memory;
}

function isSummary(v: unknown): v is HostSummary {
  const o = obj(v);
  return typeof o.ts === "number" && typeof obj(o.cpu).percent === "number" && typeof obj(o.memory).percent === "number";
}

/** `GET /admin/system/hosts` (`HostList`). */
export function hostsFrom(json: unknown): HostEntry[] {
  const out: HostEntry[] = [];
  for (const item of arr(obj(json).hosts)) {
    const o = obj(item);
    const host = str(o.host);
    const lastSeen = num(o.last_seen);
    if (!host || lastSeen === null) continue;
    const info = o.info && typeof o.info === "object" ? (o.info as HostEntry["info"]) : null;
    out.push({
      host,
      lastSeen,
      status: o.status === "up" ? "up" : "stale",
      alerts: num(o.alerts) ?? 0,
      labels: labelsOf(info?.labels),
      info,
    });
  }
  return out;
}

/** `GET /admin/system/metrics` without `host` (`FleetMetrics`): a summary per host. */
export function fleetFrom(json: unknown): Map<string, HostSummary> {
  const out = new Map<string, HostSummary>();
  for (const [host, summary] of Object.entries(obj(obj(json).hosts))) {
    if (isSummary(summary)) out.set(host, summary);
  }
  return out;
}

/** `GET /admin/system/metrics?host=` (`HostMetrics`), or null when it holds no sample. */
export function hostCurrentFrom(json: unknown): HostCurrent | null {
  const o = obj(json);
  if (!isSample(o.metrics)) return null;
  const sample = o.metrics;
  return {
    host: str(o.host) || sample.host,
    status: o.status === "up" ? "up" : "stale",
    lastSeen: num(o.last_seen) ?? sample.ts,
    sample,
    apps: Object.values(obj(o.apps)).filter((a) => typeof obj(a).app === "string") as HostCurrent["apps"],
    checks: Object.values(obj(o.checks)).filter((c) => typeof obj(c).check === "string") as HostCurrent["checks"],
  };
}

/**
 * `GET /admin/system/metrics/historical` (`History`): each series' times and means. Raw
 * points carry only `t` and `mean`; rollups carry min, max, last and count too, and the
 * mean is what a chart draws. Points come sorted; a point without a value marks a gap.
 */
export function historyFrom(json: unknown): Map<string, SeriesHistory> {
  const o = obj(json);
  const step = num(o.step) ?? 1;
  const out = new Map<string, SeriesHistory>();
  for (const item of arr(o.series)) {
    const s = obj(item);
    const name = str(s.series);
    if (!name) continue;
    const points = obj(s.points);
    const t = arr(points.t);
    const mean = arr(points.mean);
    const ts: number[] = [];
    const values: (number | null)[] = [];
    for (let i = 0; i < t.length; i++) {
      const time = num(t[i]);
      const value = num(mean[i]);
      if (time === null || (ts.length && time <= ts[ts.length - 1])) continue;
      ts.push(time);
      values.push(value);
    }
    out.set(name, { step, ts, values });
  }
  return out;
}

/** What an alert's latest event says about its state (the gateway's `STATE_OF`). */
export function alertState(event: AlertEvent["event"]): AlertState {
  switch (event) {
    case "acknowledged":
    case "silenced":
    case "resolved":
      return event;
    default:
      return "firing";
  }
}

export function toAlert(event: AlertEvent): Alert {
  return { ...event, state: alertState(event.event) };
}

/** `GET /admin/system/alerts` (`Alerts`): active alerts, or with `since` every event. */
export function alertsFrom(json: unknown): Alert[] {
  const out: Alert[] = [];
  for (const item of arr(obj(json).alerts)) {
    const o = obj(item);
    if (o.kind !== "alert" || !str(o.alert_id) || !str(o.rule) || typeof o.ts !== "number") continue;
    out.push(toAlert(o as unknown as AlertEvent));
  }
  return out;
}

/** Apply one live alert event to the list of active alerts (newest event wins). */
export function applyAlertEvent(active: Alert[], event: Alert): Alert[] {
  const previous = active.find((a) => a.alert_id === event.alert_id);
  if (previous && previous.ts > event.ts) return active;
  const rest = active.filter((a) => a.alert_id !== event.alert_id);
  if (event.state === "resolved") return rest;
  return [event, ...rest];
}

/** `GET /admin/system/services` (`Services`). */
export function servicesFrom(json: unknown): ServiceStatus[] {
  return arr(obj(json).services).filter((s) => typeof obj(s).check === "string" && typeof obj(s).ok === "boolean") as ServiceStatus[];
}

/** What the alerter or the notifier answered, inside the gateway's `Relayed` wrapper. */
function relayed(json: unknown, key: string): unknown[] {
  return arr(obj(obj(json).data)[key]);
}

/** `GET /admin/system/silences`. */
export function silencesFrom(json: unknown): Silence[] {
  return relayed(json, "silences")
    .map(obj)
    .filter((s) => typeof s.id === "string" && typeof s.ends_at === "number" && Array.isArray(s.matchers)) as unknown as Silence[];
}

/** `GET /admin/system/rules`. */
export function rulesFrom(json: unknown): Rule[] {
  return relayed(json, "rules")
    .map(obj)
    .filter((r) => typeof r.name === "string" && typeof r.metric === "string") as unknown as Rule[];
}

/** `GET /admin/system/notifications`: the notifier's delivery attempts, newest first. */
export function attemptsFrom(json: unknown): NotificationAttempt[] {
  return (relayed(json, "attempts").map(obj).filter((a) => typeof a.id === "string" && typeof a.at === "number") as unknown as NotificationAttempt[])
    .sort((a, b) => b.at - a.at);
}

/** `GET /admin/system/annotations` (`Annotations`), oldest first. */
export function annotationsFrom(json: unknown): Annotation[] {
  return (arr(obj(json).annotations).filter((a) => typeof obj(a).ts === "number" && typeof obj(a).text === "string") as Annotation[]).sort(
    (a, b) => a.ts - b.ts,
  );
}

/** `GET /admin/system/health` (`HealthAnswer`); null for anything else. */
export function healthFrom(json: unknown): HealthAnswer | null {
  const o = obj(json);
  if (!Array.isArray(o.hosts) || !Array.isArray(o.groups)) return null;
  return {
    generated_at: num(o.generated_at) ?? 0,
    fleet: o.fleet && typeof o.fleet === "object" ? (o.fleet as HealthAnswer["fleet"]) : null,
    hosts: o.hosts.filter((h) => typeof obj(h).host === "string" && typeof obj(h).score === "number"),
    groups: o.groups.filter((g) => typeof obj(g).group === "string" && typeof obj(g).score === "number"),
  } as HealthAnswer;
}

/** One host's answer of `GET /admin/system/analytics?host=` (`AnalyticsListAnswer`). */
export function analyticsFrom(json: unknown, host: string): AnalyticsAnswer | null {
  const found = arr(obj(json).hosts).find((h) => obj(h).host === host);
  if (!found) return null;
  const o = obj(found);
  return { ...(o as unknown as AnalyticsAnswer), metrics: arr(o.metrics) as AnalyticsAnswer["metrics"], apps: arr(o.apps) as AnalyticsAnswer["apps"], capacity: arr(o.capacity) as AnalyticsAnswer["capacity"] };
}

/** The anomaly flags of a host's series, oldest first. */
export function flagsOf(answer: AnalyticsAnswer | null): SeriesFlag[] {
  const out: SeriesFlag[] = [];
  for (const m of answer?.metrics ?? []) {
    for (const f of arr(obj(m.anomalies).flags).map(obj)) {
      const ts = num(f.ts);
      const value = num(f.value);
      if (!m.series || ts === null || value === null) continue;
      out.push({ series: m.series, ts, value, expected: num(f.expected) ?? value, score: num(f.score) ?? 0 });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** `GET /admin/system/optimization` (`OptimizationAnswer`): recommendations, worst first. */
export function recommendationsFrom(json: unknown): Recommendation[] {
  return arr(obj(json).recommendations)
    .map(obj)
    .filter((r) => typeof r.title === "string" && typeof r.host === "string" && Array.isArray(r.evidence)) as unknown as Recommendation[];
}

/** One host's entry of `GET /admin/system/components` (`ComponentsAnswer`). */
export function componentsFrom(json: unknown, host: string): HostComponents | null {
  const found = obj(arr(obj(json).hosts).find((h) => obj(h).host === host));
  if (!Array.isArray(found.components)) return null;
  return found as unknown as HostComponents;
}

/** `/healthz`'s body (200 or 503); an older gateway's `reason` alone becomes one reason. */
export function gatewayHealthFrom(raw: unknown): GatewayHealth {
  const body = (raw && typeof raw === "object" ? raw : {}) as { status?: unknown; reason?: unknown; reasons?: unknown };
  const status = body.status === "ok" || body.status === "degraded" || body.status === "unavailable" ? body.status : "unavailable";
  let reasons = Array.isArray(body.reasons) ? body.reasons.filter((r): r is string => typeof r === "string") : [];
  if (reasons.length === 0 && typeof body.reason === "string" && body.reason) reasons = [body.reason];
  return { status, reasons };
}

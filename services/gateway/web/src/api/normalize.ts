// Turn the gateway's JSON answers into the dashboard's shapes. Each reader accepts the
// shapes the contract allows (a bare list or one wrapped in an object, rollups or raw
// points) and skips items it cannot read, so a changed field empties a row, never a page.
import type { AnyRecord } from "./guards";
import { arr, num, obj, str } from "./guards";
import type {
  Alert,
  AlertState,
  Annotation,
  Anomaly,
  AppMetrics,
  HealthScore,
  HostCurrent,
  HostEntry,
  HostInfo,
  MetricSample,
  ServiceCheck,
  Silence,
} from "./types";
import type { Series } from "../lib/timeseries";

/** The list under `key` of an object, or the value itself when it is a list. */
function listOf(json: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(json)) return json;
  const o = obj(json);
  for (const key of keys) {
    const v = o[key];
    if (Array.isArray(v)) return v;
    // `{key: {name: item}}`: a mapping keyed by the item's name.
    if (v && typeof v === "object") {
      return Object.entries(v as AnyRecord).map(([name, item]) => ({ _key: name, ...obj(item) }));
    }
  }
  return [];
}

function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === "string") out[k] = val;
  return out;
}

function isSample(v: unknown): v is MetricSample {
  const o = obj(v);
  return typeof o.host === "string" && typeof o.ts === "number" && !!o.cpu && !!o.memory;
}

export function hostsFrom(json: unknown): HostEntry[] {
  const out: HostEntry[] = [];
  for (const item of listOf(json, "hosts")) {
    const o = obj(item);
    const host = str(o.host) || str(o._key);
    if (!host) continue;
    const status = str(o.status);
    const info = o.info && typeof o.info === "object" ? (o.info as HostInfo) : null;
    out.push({
      host,
      lastSeen: num(o.last_seen),
      status: status === "up" || status === "stale" || status === "down" ? status : "stale",
      labels: { ...labelsOf(info?.labels), ...labelsOf(o.labels) },
      info,
    });
  }
  return out;
}

/** `GET /admin/system/metrics` without `host`: every host's latest sample. */
export function fleetFrom(json: unknown): Map<string, MetricSample> {
  const out = new Map<string, MetricSample>();
  const hosts = obj(json).hosts;
  const entries = Array.isArray(hosts) ? hosts.map((h) => [str(obj(h).host), h] as const) : Object.entries(obj(hosts));
  for (const [name, value] of entries) {
    // Either the sample itself or `{metrics: sample, apps: ...}`.
    const sample = isSample(value) ? value : obj(value).metrics;
    if (isSample(sample)) out.set(name || sample.host, sample);
  }
  return out;
}

/** `GET /admin/system/metrics?host=`: the sample, and the apps and facts when present. */
export function hostCurrentFrom(json: unknown): HostCurrent | null {
  const o = obj(json);
  const sample = isSample(o.metrics) ? o.metrics : isSample(json) ? (json as MetricSample) : null;
  if (!sample) return null;
  const apps = listOf({ apps: o.apps ?? o.app }, "apps")
    .map((a) => obj(a))
    .filter((a) => typeof a.app === "string" || typeof a._key === "string")
    .map((a) => ({ ...a, app: str(a.app) || str(a._key) }) as unknown as AppMetrics);
  const info = o.info && typeof o.info === "object" ? (o.info as HostInfo) : null;
  return { host: str(o.host) || sample.host, sample, apps, info };
}

/** One point of a history answer: `[t, v]`, `[t, min, mean, max, last]` or an object. */
function pointOf(p: unknown): [number, number] | null {
  if (Array.isArray(p)) {
    const t = num(p[0]);
    const v = p.length >= 5 ? num(p[2]) : num(p[1]);
    return t !== null && v !== null ? [t, v] : null;
  }
  const o = obj(p);
  const t = num(o.ts) ?? num(o.t) ?? num(o.time);
  const v = num(o.mean) ?? num(o.avg) ?? num(o.value) ?? num(o.v) ?? num(o.last);
  return t !== null && v !== null ? [t, v] : null;
}

function pointsToSeries(points: unknown[]): Series {
  const pairs = points.map(pointOf).filter((p): p is [number, number] => p !== null);
  pairs.sort((a, b) => a[0] - b[0]);
  const ts: number[] = [];
  const values: number[] = [];
  for (const [t, v] of pairs) {
    // Equal times (a rollup boundary seen twice) keep the later value.
    if (ts.length && ts[ts.length - 1] === t) values[values.length - 1] = v;
    else {
      ts.push(t);
      values.push(v);
    }
  }
  return { ts, values };
}

/** `GET /admin/system/metrics/historical?metric=`: the points of that one series. */
export function historyFrom(json: unknown, metric: string): Series {
  if (Array.isArray(json)) return pointsToSeries(json);
  const o = obj(json);
  for (const key of ["points", "data", "values"]) if (Array.isArray(o[key])) return pointsToSeries(o[key] as unknown[]);
  const series = o.series;
  if (Array.isArray(series)) {
    const match = series.map(obj).find((s) => s.name === metric || s.metric === metric || s.series === metric);
    const chosen = match ?? (series.length === 1 ? obj(series[0]) : null);
    return chosen ? historyFrom(chosen, metric) : { ts: [], values: [] };
  }
  if (series && typeof series === "object") {
    const m = series as AnyRecord;
    const chosen = m[metric] ?? (Object.keys(m).length === 1 ? Object.values(m)[0] : undefined);
    return chosen === undefined ? { ts: [], values: [] } : historyFrom(chosen, metric);
  }
  return { ts: [], values: [] };
}

export function alertState(event: string, explicit?: string): AlertState {
  if (explicit === "firing" || explicit === "acknowledged" || explicit === "silenced" || explicit === "resolved") {
    return explicit;
  }
  if (event === "acknowledged" || event === "silenced" || event === "resolved") return event;
  return "firing";
}

export function alertsFrom(json: unknown): Alert[] {
  const out: Alert[] = [];
  for (const item of listOf(json, "alerts", "items", "history")) {
    const wrapper = obj(item);
    // Either the AlertEvent itself or `{state, alert|event: AlertEvent}`.
    const inner = wrapper.alert && typeof wrapper.alert === "object" ? obj(wrapper.alert) : wrapper;
    const alertId = str(inner.alert_id) || str(inner.id) || str(wrapper._key);
    if (!alertId || !str(inner.rule)) continue;
    const severity = str(inner.severity);
    const event = str(inner.event) || "firing";
    out.push({
      ...(inner as unknown as Alert),
      id: str(inner.id) || alertId,
      alert_id: alertId,
      host: str(inner.host),
      event: event as Alert["event"],
      severity: severity === "critical" || severity === "info" ? severity : "warning",
      labels: labelsOf(inner.labels),
      ts: num(inner.ts) ?? num(inner.started_at) ?? 0,
      started_at: num(inner.started_at) ?? num(inner.ts) ?? 0,
      state: alertState(event, str(wrapper.state) || str(inner.state)),
    });
  }
  return out;
}

/** Apply one live alert event to the list of active alerts (newest state wins). */
export function applyAlertEvent(active: Alert[], event: Alert): Alert[] {
  const rest = active.filter((a) => a.alert_id !== event.alert_id);
  if (event.state === "resolved") return rest;
  const previous = active.find((a) => a.alert_id === event.alert_id);
  if (previous && previous.ts > event.ts) return active;
  const merged: Alert = previous ? { ...previous, ...event, started_at: previous.started_at || event.started_at } : event;
  return [merged, ...rest];
}

function percentOf(v: unknown): number | null {
  const n = num(v);
  if (n === null) return null;
  return n <= 1 ? n * 100 : n;
}

export function servicesFrom(json: unknown): ServiceCheck[] {
  const out: ServiceCheck[] = [];
  for (const item of listOf(json, "services", "checks")) {
    const o = obj(item);
    const last = obj(o.last ?? o.latest ?? o.result);
    const field = (k: string) => o[k] ?? last[k];
    const check = str(field("check")) || str(o.name) || str(o._key);
    if (!check) continue;
    const status = str(field("status"));
    const ok = typeof field("ok") === "boolean" ? Boolean(field("ok")) : ["ok", "up", "passing", "healthy"].includes(status);
    const latency = obj(o.latency_ms ?? o.response_ms ?? o.latency);
    out.push({
      host: str(field("host")),
      check,
      kind: str(field("check_kind")) || str(field("kind")),
      ok,
      reason: str(field("reason")),
      lastTs: num(field("ts")) ?? num(o.last_ts),
      latencyMs: num(field("latency_ms")) ?? num(latency.last) ?? num(o.response_time_ms),
      p50Ms: num(latency.p50) ?? num(o.p50_ms) ?? num(o.latency_p50_ms),
      p95Ms: num(latency.p95) ?? num(o.p95_ms) ?? num(o.latency_p95_ms),
      uptimePercent: num(o.uptime_percent) ?? percentOf(o.uptime) ?? percentOf(o.uptime_ratio),
    });
  }
  return out;
}

export function silencesFrom(json: unknown): Silence[] {
  const out: Silence[] = [];
  for (const item of listOf(json, "silences")) {
    const o = obj(item);
    const id = str(o.id) || str(o._key);
    if (!id) continue;
    out.push({
      id,
      matchers: arr(o.matchers).map((m) => {
        const mo = obj(m);
        return { name: str(mo.name), value: str(mo.value), op: str(mo.op) || "=" };
      }),
      startsAt: num(o.starts_at) ?? 0,
      endsAt: num(o.ends_at) ?? 0,
      createdBy: str(o.by) || str(o.created_by),
      comment: str(o.comment),
    });
  }
  return out;
}

export function annotationsFrom(json: unknown): Annotation[] {
  return listOf(json, "annotations")
    .map(obj)
    .filter((o) => typeof o.ts === "number" && typeof o.text === "string")
    .map((o) => ({ ...(o as unknown as Annotation), kind: "annotation" as const, id: str(o.id) || String(o.ts) }))
    .sort((a, b) => a.ts - b.ts);
}

export function anomaliesFrom(json: unknown, host: string): Anomaly[] {
  const out: Anomaly[] = [];
  for (const item of listOf(json, "anomalies", "flags")) {
    const o = obj(item);
    if (o.host !== undefined && str(o.host) !== host) continue;
    const series = str(o.series) || str(o.metric);
    const ts = num(o.ts) ?? num(o.at) ?? num(o.start);
    if (!series || ts === null) continue;
    out.push({ series, ts, score: num(o.score), summary: str(o.summary) || str(o.reason) });
  }
  return out;
}

export function healthFrom(json: unknown): Map<string, HealthScore> {
  const out = new Map<string, HealthScore>();
  for (const item of listOf(json, "hosts", "scores")) {
    const o = obj(item);
    const host = str(o.host) || str(o._key);
    const score = num(o.score) ?? num(o.health) ?? num(o.health_score);
    if (host && score !== null) out.set(host, { host, score, status: str(o.status) });
  }
  // A single host's answer: `{host, score}`.
  const o = obj(json);
  const single = num(o.score) ?? num(o.health_score);
  if (typeof o.host === "string" && single !== null) out.set(o.host, { host: o.host, score: single, status: str(o.status) });
  return out;
}

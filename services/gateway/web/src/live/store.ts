// The latest state of every host the dashboard has heard of, fed by the live stream or by
// polling, with bounded series for sparklines and for the host being looked at.
import type { AppMetrics, CheckResult, HostInfo, HostSummary, MetricSample } from "../api/types";
import { appPoints, samplePoints } from "../lib/series";
import { busiestGpu, summarize } from "../lib/summary";
import { Ring, type GappySeries, type Series } from "../lib/timeseries";

/** Sparkline series of the fleet view: one point per `FLEET_SPACING_S` at most. */
export const FLEET_SERIES = ["cpu.percent", "memory.percent", "gpu.utilization"] as const;
export type FleetSeries = (typeof FLEET_SERIES)[number];
export const FLEET_SPACING_S = 5;
export const FLEET_CAPACITY = 720;
/** Full-resolution series of a focused host: an hour at one sample a second. */
export const FOCUS_CAPACITY = 3700;
/** Bounds on what one host keeps of the things that come in many names. */
export const MAX_APPS = 32;
export const MAX_CHECKS = 256;

export interface HostData {
  host: string;
  /** The fleet's view of the latest sample: from the fleet answer or any metrics event. */
  summary: HostSummary | null;
  /** The latest whole sample (the host's page asks for them; the fleet's are trimmed). */
  sample: MetricSample | null;
  info: HostInfo | null;
  apps: Map<string, AppMetrics>;
  checks: Map<string, CheckResult>;
  fleet: Record<FleetSeries, Ring>;
  /** Present while a host view is open on this host. */
  focus: Map<string, Ring> | null;
  /** Bumped on every change, so views can tell they need to re-read. */
  version: number;
}

type Listener = (host: string) => void;

function newHost(host: string): HostData {
  return {
    host,
    summary: null,
    sample: null,
    info: null,
    apps: new Map(),
    checks: new Map(),
    fleet: {
      "cpu.percent": new Ring(FLEET_CAPACITY),
      "memory.percent": new Ring(FLEET_CAPACITY),
      "gpu.utilization": new Ring(FLEET_CAPACITY),
    },
    focus: null,
    version: 0,
  };
}

export class HostStore {
  private hosts = new Map<string, HostData>();
  private listeners = new Set<Listener>();
  /** Items refused by a bound (apps or checks beyond their cap). */
  dropped = 0;

  get(host: string): HostData | undefined {
    return this.hosts.get(host);
  }

  names(): string[] {
    return [...this.hosts.keys()].sort();
  }

  private ensure(host: string): HostData {
    let data = this.hosts.get(host);
    if (!data) {
      data = newHost(host);
      this.hosts.set(host, data);
    }
    return data;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(data: HostData): void {
    data.version += 1;
    for (const l of this.listeners) l(data.host);
  }

  /** Keep full-resolution series of this host until the returned function is called. */
  focus(host: string): () => void {
    const data = this.ensure(host);
    data.focus ??= new Map();
    return () => {
      data.focus = null;
    };
  }

  /** When this host was last heard of (its latest sample's time), or null. */
  lastSeen(host: string): number | null {
    return this.hosts.get(host)?.summary?.ts ?? null;
  }

  /**
   * Take in one metrics event; an older or repeated one (a poll that saw it already) is
   * ignored. `whole`: the event is a whole sample, not one trimmed to some families.
   */
  addSample(sample: MetricSample, whole: boolean): boolean {
    const data = this.ensure(sample.host);
    const known = data.summary?.ts ?? -Infinity;
    const newerWhole = whole && sample.ts > (data.sample?.ts ?? -Infinity);
    // A whole sample also completes the summary a trimmed event of the same time began.
    const newerSummary = sample.ts > known || (newerWhole && sample.ts === known);
    if (!newerSummary && !newerWhole) return false;
    if (newerSummary) {
      data.summary = summarize(sample, data.summary);
      this.pushFleet(data, data.summary);
    }
    if (newerWhole) {
      data.sample = sample;
      if (data.focus) for (const [name, value] of samplePoints(sample)) this.pushFocus(data.focus, name, sample.ts, value);
    }
    this.changed(data);
    return true;
  }

  /** Take in a host's summary from the fleet answer (newer than what is known only). */
  addSummary(host: string, summary: HostSummary): boolean {
    const data = this.ensure(host);
    if (data.summary && summary.ts <= data.summary.ts) return false;
    data.summary = summary;
    this.pushFleet(data, summary);
    this.changed(data);
    return true;
  }

  private pushFleet(data: HostData, summary: HostSummary): void {
    const values: Record<FleetSeries, number | null> = {
      "cpu.percent": summary.cpu.percent,
      "memory.percent": summary.memory.percent,
      "gpu.utilization": busiestGpu(summary),
    };
    for (const name of FLEET_SERIES) {
      const ring = data.fleet[name];
      const value = values[name];
      const last = ring.lastTime();
      if (value !== null && (last === null || summary.ts - last >= FLEET_SPACING_S)) ring.push(summary.ts, value);
    }
  }

  addApp(app: AppMetrics): void {
    const data = this.ensure(app.host);
    if (!data.apps.has(app.app) && data.apps.size >= MAX_APPS) {
      this.dropped += 1;
      return;
    }
    const previous = data.apps.get(app.app);
    if (previous && previous.ts >= app.ts) return;
    data.apps.set(app.app, app);
    if (data.focus) for (const [name, value] of appPoints(app)) this.pushFocus(data.focus, name, app.ts, value);
    this.changed(data);
  }

  addCheck(check: CheckResult): void {
    const data = this.ensure(check.host);
    if (!data.checks.has(check.check) && data.checks.size >= MAX_CHECKS) {
      this.dropped += 1;
      return;
    }
    const previous = data.checks.get(check.check);
    if (previous && previous.ts >= check.ts) return;
    data.checks.set(check.check, check);
    this.changed(data);
  }

  setInfo(info: HostInfo, host = info.host): void {
    const data = this.ensure(host);
    data.info = info;
    this.changed(data);
  }

  /** Seed a host's sparkline with history (older points only; live ones are kept). */
  seedFleet(host: string, name: FleetSeries, history: GappySeries): void {
    const data = this.ensure(host);
    const ring = data.fleet[name];
    const live = ring.toSeries();
    const seeded = new Ring(FLEET_CAPACITY);
    const firstLive = live.ts.length ? live.ts[0] : Infinity;
    for (let i = 0; i < history.ts.length; i++) {
      const v = history.values[i];
      if (history.ts[i] < firstLive && v !== null) seeded.push(history.ts[i], v);
    }
    for (let i = 0; i < live.ts.length; i++) seeded.push(live.ts[i], live.values[i]);
    data.fleet[name] = seeded;
    this.changed(data);
  }

  /** The focused series of a host since `since` (empty when not focused or unknown). */
  focusSeries(host: string, name: string, since = -Infinity): Series {
    return this.hosts.get(host)?.focus?.get(name)?.toSeries(since) ?? { ts: [], values: [] };
  }

  private pushFocus(focus: Map<string, Ring>, name: string, t: number, v: number): void {
    let ring = focus.get(name);
    if (!ring) {
      ring = new Ring(FOCUS_CAPACITY);
      focus.set(name, ring);
    }
    ring.push(t, v);
  }
}

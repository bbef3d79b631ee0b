// Every gateway endpoint the dashboard calls, in one place, each returning normalized data.
import { ApiError, Client } from "./http";
import {
  alertsFrom,
  analyticsFrom,
  annotationsFrom,
  attemptsFrom,
  componentsFrom,
  fleetFrom,
  gatewayHealthFrom,
  healthFrom,
  historyFrom,
  hostCurrentFrom,
  hostsFrom,
  recommendationsFrom,
  rulesFrom,
  servicesFrom,
  silencesFrom,
} from "./normalize";
import type {
  Alert,
  AlertState,
  AnalyticsAnswer,
  Annotation,
  GatewayHealth,
  HealthAnswer,
  HostComponents,
  HostCurrent,
  HostEntry,
  HostSummary,
  Matcher,
  NotificationAttempt,
  Recommendation,
  Rule,
  SeriesHistory,
  ServiceStatus,
  Severity,
  Silence,
  TokenResponse,
} from "./types";
import { analyticsRange, rangeParams, type TimeRange } from "../lib/time";

export const PATHS = {
  healthz: "/healthz",
  token: "/auth/token",
  refresh: "/auth/refresh",
  logout: "/auth/logout",
  hosts: "/admin/system/hosts",
  metrics: "/admin/system/metrics",
  historical: "/admin/system/metrics/historical",
  alerts: "/admin/system/alerts",
  acknowledge: (id: string) => `/admin/system/alerts/${encodeURIComponent(id)}/acknowledge`,
  services: "/admin/system/services",
  rules: "/admin/system/rules",
  silences: "/admin/system/silences",
  silence: (id: string) => `/admin/system/silences/${encodeURIComponent(id)}`,
  notifications: "/admin/system/notifications",
  annotations: "/admin/system/annotations",
  health: "/admin/system/health",
  analytics: "/admin/system/analytics",
  optimization: "/admin/system/optimization",
  components: "/admin/system/components",
  stream: "/admin/system/stream",
} as const;

/** A series the host does not have is answered 404 with this text: an empty series. */
function noSuchSeries(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && /has no series/.test(err.detail);
}

export interface AlertQuery {
  host?: string;
  state?: AlertState;
  severity?: Severity;
  /** Epoch seconds: every event since then (the history); without it, the active alerts. */
  since?: number;
  limit?: number;
}

export interface NewSilence {
  matchers: Matcher[];
  /** Seconds from now. */
  duration: number;
  comment: string;
}

/**
 * Sent on the calls that may use the session cookie (an httpOnly refresh token limited to
 * `/auth`): the gateway accepts the cookie only with it, which a cross-site page cannot add.
 */
export const CSRF_HEADERS = { "X-Vitals-CSRF": "1" };

export class Api {
  constructor(readonly client: Client) {}

  /** Sign in; the gateway also sets the session cookie (the answer is the same). */
  login(username: string, password: string): Promise<TokenResponse> {
    return this.client.request<TokenResponse>("POST", PATHS.token, { form: { username, password }, anonymous: true, headers: CSRF_HEADERS });
  }

  /** A fresh access token from the session cookie (a reload, a new tab, or before expiry). */
  refresh(): Promise<TokenResponse> {
    return this.client.request<TokenResponse>("POST", PATHS.refresh, { json: {}, headers: CSRF_HEADERS });
  }

  /** Whether the gateway serves, and what it lacks (no token needed; 503 has a body too). */
  async gatewayHealth(): Promise<GatewayHealth> {
    try {
      return gatewayHealthFrom(await this.client.request("GET", PATHS.healthz, { anonymous: true, timeoutMs: 5000 }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 503) return gatewayHealthFrom(err.body);
      throw err;
    }
  }

  /** Revoke the access token and the session cookie. */
  async logout(): Promise<void> {
    await this.client.request("POST", PATHS.logout, { json: {}, headers: CSRF_HEADERS });
  }

  async hosts(): Promise<HostEntry[]> {
    return hostsFrom(await this.client.get(PATHS.hosts));
  }

  async fleet(): Promise<Map<string, HostSummary>> {
    return fleetFrom(await this.client.get(PATHS.metrics));
  }

  async current(host: string): Promise<HostCurrent | null> {
    return hostCurrentFrom(await this.client.get(PATHS.metrics, { host }));
  }

  /** One series (`cpu.percent`, `disk.percent{mount=/}`) of a host; empty when it has none. */
  async history(host: string, series: string, range: TimeRange, step?: number): Promise<SeriesHistory> {
    try {
      const json = await this.client.get(PATHS.historical, { host, metric: series, step, ...rangeParams(range) });
      return historyFrom(json).get(series) ?? { step: 1, ts: [], values: [] };
    } catch (err) {
      if (noSuchSeries(err)) return { step: 1, ts: [], values: [] };
      throw err;
    }
  }

  async alerts(query: AlertQuery = {}): Promise<Alert[]> {
    return alertsFrom(await this.client.get(PATHS.alerts, { ...query }));
  }

  async acknowledge(alertId: string, comment: string): Promise<void> {
    await this.client.post(PATHS.acknowledge(alertId), { comment });
  }

  async services(host?: string, range: "1h" | "6h" | "24h" | "7d" | "30d" = "24h"): Promise<ServiceStatus[]> {
    return servicesFrom(await this.client.get(PATHS.services, { host, range }));
  }

  async rules(): Promise<Rule[]> {
    return rulesFrom(await this.client.get(PATHS.rules));
  }

  async silences(): Promise<Silence[]> {
    return silencesFrom(await this.client.get(PATHS.silences));
  }

  async createSilence(body: NewSilence): Promise<void> {
    await this.client.post(PATHS.silences, body);
  }

  async deleteSilence(id: string): Promise<void> {
    await this.client.delete(PATHS.silence(id));
  }

  async notifications(limit = 50): Promise<NotificationAttempt[]> {
    return attemptsFrom(await this.client.get(PATHS.notifications, { limit }));
  }

  async annotations(range: TimeRange, host?: string): Promise<Annotation[]> {
    return annotationsFrom(await this.client.get(PATHS.annotations, { host, ...rangeParams(range) }));
  }

  /** Health scores with their parts; `host`: that host only (no fleet score). */
  async health(host?: string): Promise<HealthAnswer | null> {
    return healthFrom(await this.client.get(PATHS.health, { host }));
  }

  /** Trends, anomalies and capacity of one host over the analytics range covering `range`. */
  async analytics(host: string, range: TimeRange): Promise<AnalyticsAnswer | null> {
    return analyticsFrom(await this.client.get(PATHS.analytics, { host, range: analyticsRange(range) }), host);
  }

  async recommendations(host?: string): Promise<Recommendation[]> {
    return recommendationsFrom(await this.client.get(PATHS.optimization, { host }));
  }

  async components(host: string): Promise<HostComponents | null> {
    return componentsFrom(await this.client.get(PATHS.components, { host }), host);
  }
}

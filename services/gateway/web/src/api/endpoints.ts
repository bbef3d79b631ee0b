// Every gateway endpoint the dashboard calls, in one place, each returning normalized data.
import { Client } from "./http";
import {
  alertsFrom,
  annotationsFrom,
  anomaliesFrom,
  fleetFrom,
  healthFrom,
  historyFrom,
  hostCurrentFrom,
  hostsFrom,
  servicesFrom,
  silencesFrom,
} from "./normalize";
import type { components } from "./schema";
import type { Alert, Annotation, Anomaly, HealthScore, HostCurrent, HostEntry, Matcher, MetricSample, ServiceCheck, Silence } from "./types";
import type { Series } from "../lib/timeseries";
import { rangeParams, type TimeRange } from "../lib/time";

export type TokenResponse = components["schemas"]["TokenResponse"];

export const PATHS = {
  token: "/auth/token",
  refresh: "/auth/refresh",
  logout: "/auth/logout",
  hosts: "/admin/system/hosts",
  metrics: "/admin/system/metrics",
  historical: "/admin/system/metrics/historical",
  alerts: "/admin/system/alerts",
  acknowledge: (id: string) => `/admin/system/alerts/${encodeURIComponent(id)}/acknowledge`,
  services: "/admin/system/services",
  silences: "/admin/system/silences",
  silence: (id: string) => `/admin/system/silences/${encodeURIComponent(id)}`,
  annotations: "/admin/system/annotations",
  analytics: "/admin/system/analytics",
  health: "/admin/system/health",
  stream: "/admin/system/stream",
} as const;

export class Api {
  constructor(readonly client: Client) {}

  login(username: string, password: string): Promise<TokenResponse> {
    return this.client.request<TokenResponse>("POST", PATHS.token, { form: { username, password }, anonymous: true });
  }

  refresh(): Promise<TokenResponse> {
    return this.client.post<TokenResponse>(PATHS.refresh);
  }

  async logout(): Promise<void> {
    await this.client.post(PATHS.logout);
  }

  async hosts(): Promise<HostEntry[]> {
    return hostsFrom(await this.client.get(PATHS.hosts));
  }

  async fleet(): Promise<Map<string, MetricSample>> {
    return fleetFrom(await this.client.get(PATHS.metrics));
  }

  async current(host: string): Promise<HostCurrent | null> {
    return hostCurrentFrom(await this.client.get(PATHS.metrics, { host }));
  }

  async history(host: string, metric: string, range: TimeRange, step?: number): Promise<Series> {
    const json = await this.client.get(PATHS.historical, { host, metric, step, ...rangeParams(range) });
    return historyFrom(json, metric);
  }

  async alerts(params: { host?: string; state?: string; since?: number } = {}): Promise<Alert[]> {
    return alertsFrom(await this.client.get(PATHS.alerts, params));
  }

  async acknowledge(alertId: string, comment: string): Promise<void> {
    await this.client.post(PATHS.acknowledge(alertId), comment ? { comment } : {});
  }

  async services(host?: string): Promise<ServiceCheck[]> {
    return servicesFrom(await this.client.get(PATHS.services, { host }));
  }

  async silences(): Promise<Silence[]> {
    return silencesFrom(await this.client.get(PATHS.silences));
  }

  async createSilence(body: { matchers: Matcher[]; starts_at: number; ends_at: number; comment: string }): Promise<void> {
    await this.client.post(PATHS.silences, body);
  }

  async deleteSilence(id: string): Promise<void> {
    await this.client.delete(PATHS.silence(id));
  }

  async annotations(range: TimeRange, host?: string): Promise<Annotation[]> {
    return annotationsFrom(await this.client.get(PATHS.annotations, { host, ...rangeParams(range) }));
  }

  async anomalies(host: string, range: TimeRange): Promise<Anomaly[]> {
    return anomaliesFrom(await this.client.get(PATHS.analytics, { host, ...rangeParams(range) }), host);
  }

  async health(host?: string): Promise<Map<string, HealthScore>> {
    return healthFrom(await this.client.get(PATHS.health, { host }));
  }
}

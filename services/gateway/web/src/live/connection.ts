// How the dashboard stays current, decided from plain facts (no sockets, no timers here).
import type { BusEvent } from "../api/types";

/**
 * - `connecting`: first attempt at the live stream, nothing known yet.
 * - `live`: the websocket is open; events arrive as they happen.
 * - `reconnecting`: the websocket was live and dropped; retrying (polling meanwhile).
 * - `polling`: no websocket; the page asks the gateway every refresh interval.
 * - `paused`: no websocket and auto-refresh is off: the page shows what it has.
 * - `offline`: the gateway does not answer at all; retrying.
 */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "polling" | "paused" | "offline";

export interface ConnectionFacts {
  wsOpen: boolean;
  /** The websocket was open at least once since this page loaded. */
  wasLive: boolean;
  /** Failed websocket attempts since it was last open. */
  wsFailures: number;
  autoRefresh: boolean;
  /** The last poll (or the last attempt to reach the gateway) failed to connect. */
  unreachable: boolean;
}

/** Websocket attempts that fail before the page falls back to polling. */
export const WS_TRIES_BEFORE_POLLING = 2;

export function connectionState(f: ConnectionFacts): ConnectionState {
  if (f.wsOpen) return "live";
  if (f.unreachable) return "offline";
  if (f.wasLive && f.wsFailures < 6) return "reconnecting";
  if (f.wsFailures < WS_TRIES_BEFORE_POLLING && !f.wasLive) return "connecting";
  return f.autoRefresh ? "polling" : "paused";
}

/** Whether the page should poll the REST API now (the stream is not delivering). */
export function shouldPoll(f: ConnectionFacts): boolean {
  if (f.wsOpen || !f.autoRefresh) return false;
  return f.wasLive || f.wsFailures >= WS_TRIES_BEFORE_POLLING || f.unreachable;
}

/** Delay before the next websocket attempt: doubling from 1 s to 30 s, with jitter 0..1. */
export function backoffMs(failures: number, jitter: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * jitter));
}

export interface Subscription {
  /** Hosts to hear about; empty means every host. */
  hosts: string[];
  families: string[];
  alerts: boolean;
  checks: boolean;
}

export const FLEET_SUBSCRIPTION: Subscription = { hosts: [], families: ["cpu", "memory", "gpu"], alerts: true, checks: false };

export function hostSubscription(host: string): Subscription {
  return {
    hosts: [host],
    families: ["cpu", "memory", "swap", "disk", "diskio", "net", "gpu", "app", "host", "proc"],
    alerts: true,
    checks: true,
  };
}

/** The stream's first message: the token and what this page wants to hear. */
export function helloMessage(token: string, sub: Subscription): string {
  return JSON.stringify({ token, subscribe: subscriptionBody(sub) });
}

/** A later message that changes the subscription. */
export function subscribeMessage(sub: Subscription): string {
  return JSON.stringify({ subscribe: subscriptionBody(sub) });
}

function subscriptionBody(sub: Subscription): Record<string, unknown> {
  const body: Record<string, unknown> = { families: sub.families, alerts: sub.alerts, checks: sub.checks };
  if (sub.hosts.length) body.hosts = sub.hosts;
  return body;
}

const EVENT_KINDS = new Set(["metrics", "host_info", "app", "health", "alert", "annotation"]);

/** One websocket frame as a bus event, or null for anything else (acks, pings, errors). */
export function parseFrame(data: unknown): BusEvent | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !EVENT_KINDS.has(kind)) return null;
  if (typeof (value as { ts?: unknown }).ts !== "number") return null;
  return value as BusEvent;
}

/** The reason a frame gives for closing or refusing, when it is an error message. */
export function frameError(data: unknown): string | null {
  if (typeof data !== "string") return null;
  try {
    const v = JSON.parse(data) as { type?: unknown; error?: unknown; reason?: unknown };
    if (typeof v.error === "string") return v.error;
    if (v.type === "error" && typeof v.reason === "string") return v.reason;
  } catch {
    return null;
  }
  return null;
}

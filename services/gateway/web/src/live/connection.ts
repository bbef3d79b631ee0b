// The live stream's protocol (vitals_gateway.live.subscriptions, routes/stream.py) and how the
// dashboard stays current, decided from plain facts (no sockets, no timers here).
import type { BusEvent } from "../api/types";

/**
 * - `connecting`: first attempt at the live stream, nothing known yet.
 * - `live`: the stream is open and subscribed; events arrive as they happen.
 * - `reconnecting`: the stream was live and dropped; retrying (polling meanwhile).
 * - `polling`: no stream; the page asks the gateway every refresh interval.
 * - `paused`: no stream and auto-refresh is off: the page shows what it has.
 * - `offline`: the gateway does not answer at all; retrying.
 */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "polling" | "paused" | "offline";

export interface ConnectionFacts {
  /** The stream is open and the gateway confirmed the subscription. */
  wsOpen: boolean;
  /** The stream was open at least once since this page loaded. */
  wasLive: boolean;
  /** Failed stream attempts since it was last open. */
  wsFailures: number;
  autoRefresh: boolean;
  /** The last poll (or the last attempt to reach the gateway) failed to connect. */
  unreachable: boolean;
}

/** Stream attempts that fail before the page falls back to polling. */
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

/** Delay before the next stream attempt: doubling from 1 s to 30 s, with jitter 0..1. */
export function backoffMs(failures: number, jitter: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * jitter));
}

/** The gateway's metric families (`subscriptions.METRIC_FAMILIES`), or "*" for all. */
export type MetricFamily =
  | "cpu"
  | "memory"
  | "swap"
  | "disks"
  | "disk_io"
  | "net"
  | "connections"
  | "processes"
  | "uptime_s"
  | "gpus"
  | "temperatures"
  | "*";

/** What the stream sends (`subscriptions.Subscription`); `hosts` empty: every host. */
export interface Subscription {
  hosts: string[];
  metrics: MetricFamily[];
  apps: boolean;
  checks: boolean;
  alerts: boolean;
  annotations: boolean;
  info: boolean;
}

/** The fleet view: every host's CPU, memory and GPUs (the sparklines), and the alerts. */
export const FLEET_SUBSCRIPTION: Subscription = {
  hosts: [],
  metrics: ["cpu", "memory", "gpus"],
  apps: false,
  checks: false,
  alerts: true,
  annotations: false,
  info: true,
};

/** A host's view: everything about it. */
export function hostSubscription(host: string): Subscription {
  return { hosts: [host], metrics: ["*"], apps: true, checks: true, alerts: true, annotations: true, info: true };
}

/** Whether metrics events under this subscription are whole samples (not trimmed). */
export function wholeSamples(sub: Subscription | null): boolean {
  return sub?.metrics.includes("*") ?? false;
}

/** The stream's first message: the token and what this page wants to hear. */
export function helloMessage(token: string, sub: Subscription): string {
  return JSON.stringify({ token, subscribe: sub });
}

/** A later message that replaces the subscription. */
export function subscribeMessage(sub: Subscription): string {
  return JSON.stringify({ subscribe: sub });
}

/** A later message that renews the token before the one the stream was opened with expires. */
export function renewMessage(token: string): string {
  return JSON.stringify({ token });
}

export const PING_MESSAGE = JSON.stringify({ type: "ping" });

/** One frame from the gateway. */
export type Frame =
  | { type: "event"; event: BusEvent }
  | { type: "subscribed"; subscription: Subscription }
  | { type: "pong"; ts: number }
  | { type: "token_renewed" }
  | { type: "error"; reason: string };

const EVENT_KINDS = new Set(["metrics", "host_info", "app", "health", "alert", "annotation"]);

/** A frame read, or null for anything the dashboard does not know (ignored). */
export function parseFrame(data: unknown): Frame | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.kind === "string") {
    if (!EVENT_KINDS.has(v.kind) || typeof v.ts !== "number" || typeof v.host !== "string") return null;
    return { type: "event", event: value as BusEvent };
  }
  switch (v.type) {
    case "subscribed": {
      const sub = v.subscription as Subscription | undefined;
      return sub && Array.isArray(sub.hosts) && Array.isArray(sub.metrics) ? { type: "subscribed", subscription: sub } : null;
    }
    case "pong":
      return { type: "pong", ts: typeof v.ts === "number" ? v.ts : 0 };
    case "token_renewed":
      return { type: "token_renewed" };
    case "error":
      return { type: "error", reason: typeof v.reason === "string" ? v.reason : "unknown error" };
    default:
      return null;
  }
}

// Close codes of the stream (vitals_gateway.live.hub).
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNAUTHORIZED = 4001;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_BAD_MESSAGE = 4400;
/** Sent by the dashboard itself when the stream stopped answering its pings. */
export const CLOSE_SILENT = 4000;

/**
 * What to do when the stream closes, and why it closed in words (for the header):
 * `reconnect` at once when the token was refreshed since the stream opened (refreshing
 * revokes the old token, which closes its streams with 4001); otherwise `retry` after the
 * backoff, counting a failure. Either way the views fetch what they may have missed.
 */
export function closeAction(code: number, tokenChanged: boolean): { action: "reconnect" | "retry"; why: string } {
  switch (code) {
    case CLOSE_UNAUTHORIZED:
      return tokenChanged ? { action: "reconnect", why: "" } : { action: "retry", why: "the gateway refused the token" };
    case CLOSE_TOO_SLOW:
      return { action: "retry", why: "the page fell behind the stream" };
    case CLOSE_BAD_MESSAGE:
      return { action: "retry", why: "the gateway did not understand the subscription" };
    case CLOSE_GOING_AWAY:
      return { action: "retry", why: "the gateway restarted" };
    case CLOSE_SILENT:
      return { action: "retry", why: "the stream stopped answering" };
    default:
      return { action: "retry", why: "" };
  }
}

/** A stream that has sent nothing (not even a pong) for this long is dead: close it. */
export const PING_EVERY_S = 15;
export const SILENT_AFTER_S = 2 * PING_EVERY_S + 5;

export function isSilent(lastHeard: number, now: number): boolean {
  return now - lastHeard > SILENT_AFTER_S;
}

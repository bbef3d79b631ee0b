// The live feed: the websocket stream when the gateway offers it, REST polling otherwise,
// reconnecting by itself. Everything it hears goes into the HostStore and to listeners.
import type { Api } from "../api/endpoints";
import { PATHS } from "../api/endpoints";
import { ApiError } from "../api/http";
import type { BusEvent } from "../api/types";
import {
  backoffMs,
  type ConnectionFacts,
  type ConnectionState,
  connectionState,
  frameError,
  helloMessage,
  parseFrame,
  shouldPoll,
  type Subscription,
  subscribeMessage,
  FLEET_SUBSCRIPTION,
} from "./connection";
import type { HostStore } from "./store";

export type FeedEvent = BusEvent | { kind: "tick"; ts: number } | { kind: "resync"; ts: number };
type EventListener = (event: FeedEvent) => void;
type StateListener = () => void;

/** While live, a subscription that hears nothing for this long is also polled. */
const QUIET_LIVE_S = 15;

export function streamUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${PATHS.stream}`;
}

export class LiveFeed {
  private ws: WebSocket | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private stopped = true;
  private subscription: Subscription = FLEET_SUBSCRIPTION;
  private events = new Set<EventListener>();
  private stateListeners = new Set<StateListener>();
  private facts: ConnectionFacts = { wsOpen: false, wasLive: false, wsFailures: 0, autoRefresh: true, unreachable: false };
  private lastDataAt = 0;
  private openedAt = 0;
  private subscribedAt = 0;
  /** Epoch seconds of the last data the page received, shown in the header. */
  lastUpdate = 0;
  lastError = "";
  state: ConnectionState = "connecting";
  intervalMs = 5000;

  constructor(
    private readonly api: Api,
    private readonly store: HostStore,
    private readonly token: () => string | null,
    private readonly url: string,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.openSocket();
    this.restartPolling();
    // Views subscribe before the feed starts: fetch what they want now, not a period later.
    void this.poll(true);
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.reconnectTimer = null;
    this.pollTimer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "signed out");
    this.facts = { ...this.facts, wsOpen: false };
  }

  onEvent(listener: EventListener): () => void {
    this.events.add(listener);
    return () => this.events.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get autoRefresh(): boolean {
    return this.facts.autoRefresh;
  }

  setAutoRefresh(on: boolean, intervalMs: number): void {
    this.facts = { ...this.facts, autoRefresh: on };
    this.intervalMs = Math.max(1000, intervalMs);
    this.restartPolling();
    this.update();
  }

  setSubscription(sub: Subscription): void {
    this.subscription = sub;
    this.subscribedAt = Date.now() / 1000;
    if (this.ws && this.facts.wsOpen) this.ws.send(subscribeMessage(sub));
    void this.poll(true);
  }

  /** Ask the gateway now, whatever the mode (the header's refresh button). */
  refreshNow(): Promise<void> {
    return this.poll(true);
  }

  private update(): void {
    const next = connectionState(this.facts);
    this.state = next;
    for (const l of this.stateListeners) l();
  }

  private emit(event: FeedEvent): void {
    for (const l of this.events) {
      try {
        l(event);
      } catch (err) {
        console.error("a live-feed listener failed", err);
      }
    }
  }

  private ingest(event: BusEvent): void {
    switch (event.kind) {
      case "metrics":
        this.store.addSample(event);
        break;
      case "app":
        this.store.addApp(event);
        break;
      case "health":
        this.store.addCheck(event);
        break;
      case "host_info":
        this.store.setInfo(event);
        break;
      default:
        break;
    }
    this.lastDataAt = Date.now() / 1000;
    this.lastUpdate = this.lastDataAt;
    this.emit(event);
  }

  private openSocket(): void {
    const token = this.token();
    if (this.stopped || !token || typeof WebSocket === "undefined") return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.socketClosed(null);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      ws.send(helloMessage(this.token() ?? token, this.subscription));
      const resumed = this.facts.wasLive || this.facts.wsFailures > 0;
      this.openedAt = Date.now() / 1000;
      this.facts = { ...this.facts, wsOpen: true, wasLive: true, wsFailures: 0, unreachable: false };
      this.update();
      // Whatever happened while the stream was down is fetched again by the views.
      if (resumed) this.emit({ kind: "resync", ts: Date.now() / 1000 });
    };
    ws.onmessage = (message: MessageEvent) => {
      const event = parseFrame(message.data);
      if (event) this.ingest(event);
      else this.lastError = frameError(message.data) ?? this.lastError;
    };
    ws.onclose = () => this.socketClosed(ws);
  }

  private socketClosed(ws: WebSocket | null): void {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    this.facts = { ...this.facts, wsOpen: false, wsFailures: this.facts.wsFailures + 1 };
    this.update();
    const delay = backoffMs(this.facts.wsFailures, Math.random());
    this.reconnectTimer = setTimeout(() => this.openSocket(), delay);
    void this.poll(false);
  }

  private restartPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.stopped) return;
    this.pollTimer = setInterval(() => void this.poll(false), this.intervalMs);
  }

  private async poll(force: boolean): Promise<void> {
    if (this.stopped || this.polling) return;
    const now = Date.now() / 1000;
    // An open stream that says nothing (not even after a subscription) is not trusted alone.
    const heard = Math.max(this.lastDataAt, this.openedAt, this.subscribedAt);
    const quiet = this.facts.wsOpen && now - heard > QUIET_LIVE_S;
    if (!force && !shouldPoll(this.facts) && !quiet) return;
    if (!force && typeof document !== "undefined" && document.hidden) return;
    this.polling = true;
    try {
      const sub = this.subscription;
      if (sub.hosts.length === 0) {
        for (const sample of (await this.api.fleet()).values()) this.store.addSample(sample);
      } else {
        for (const host of sub.hosts) {
          const current = await this.api.current(host);
          if (!current) continue;
          this.store.addSample(current.sample);
          for (const app of current.apps) this.store.addApp(app);
          if (current.info) this.store.setInfo(current.info, host);
        }
      }
      this.lastUpdate = Date.now() / 1000;
      if (this.facts.unreachable) {
        this.facts = { ...this.facts, unreachable: false };
        this.emit({ kind: "resync", ts: this.lastUpdate });
      }
    } catch (err) {
      const offline = err instanceof ApiError && (err.offline || err.status >= 502);
      if (offline !== this.facts.unreachable) this.facts = { ...this.facts, unreachable: offline };
      if (!(err instanceof ApiError)) console.error("polling failed", err);
    } finally {
      this.polling = false;
      this.update();
      this.emit({ kind: "tick", ts: Date.now() / 1000 });
    }
  }
}

// The live feed: the websocket stream when the gateway offers it, REST polling otherwise,
// reconnecting by itself. Everything it hears goes into the HostStore and to listeners.
import type { Api } from "../api/endpoints";
import { PATHS } from "../api/endpoints";
import { ApiError } from "../api/http";
import type { BusEvent } from "../api/types";
import {
  backoffMs,
  CLOSE_NORMAL,
  CLOSE_SILENT,
  closeAction,
  type ConnectionFacts,
  type ConnectionState,
  connectionState,
  FLEET_SUBSCRIPTION,
  helloMessage,
  isSilent,
  parseFrame,
  PING_EVERY_S,
  PING_MESSAGE,
  renewMessage,
  shouldPoll,
  type Subscription,
  subscribeMessage,
  wholeSamples,
} from "./connection";
import type { HostStore } from "./store";

export type FeedEvent = BusEvent | { kind: "tick"; ts: number } | { kind: "resync"; ts: number };
type EventListener = (event: FeedEvent) => void;
type StateListener = () => void;

export function streamUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${PATHS.stream}`;
}

const now = () => Date.now() / 1000;

export class LiveFeed {
  private ws: WebSocket | null = null;
  /** The token the open stream was opened with, and the one it was last renewed with. */
  private openToken: string | null = null;
  private wsToken: string | null = null;
  /** The subscription the gateway last confirmed on the open stream. */
  private confirmed: Subscription | null = null;
  private lastHeard = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private stopped = true;
  private subscription: Subscription = FLEET_SUBSCRIPTION;
  private events = new Set<EventListener>();
  private stateListeners = new Set<StateListener>();
  private facts: ConnectionFacts = { wsOpen: false, wasLive: false, wsFailures: 0, autoRefresh: true, unreachable: false };
  /** Epoch seconds of the last data the page received, shown in the header. */
  lastUpdate = 0;
  /** Why the stream last closed or what it last refused, in words. */
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
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_S * 1000);
    // Views subscribe before the feed starts: fetch what they want now, not a period later.
    void this.poll(true);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of [this.reconnectTimer, this.pingTimer, this.pollTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.reconnectTimer = this.pingTimer = this.pollTimer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(CLOSE_NORMAL, "signed out");
    this.facts = { ...this.facts, wsOpen: false, wasLive: false, wsFailures: 0 };
    this.confirmed = null;
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
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.wsToken) this.ws.send(subscribeMessage(sub));
    void this.poll(true);
  }

  /** The session has a new token: the open stream is told, before the old one expires. */
  tokenChanged(): void {
    const token = this.token();
    if (!token || token === this.wsToken || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(renewMessage(token));
    this.wsToken = token;
  }

  /** Ask the gateway now, whatever the mode (the header's refresh button). */
  refreshNow(): Promise<void> {
    return this.poll(true);
  }

  private update(): void {
    this.state = connectionState(this.facts);
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
        this.store.addSample(event, wholeSamples(this.confirmed));
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
    this.lastUpdate = now();
    this.emit(event);
  }

  private openSocket(): void {
    const token = this.token();
    if (this.stopped || !token || typeof WebSocket === "undefined") return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.socketClosed(null, 0);
      return;
    }
    this.ws = ws;
    this.confirmed = null;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.wsToken = this.openToken = this.token() ?? token;
      this.lastHeard = now();
      ws.send(helloMessage(this.wsToken, this.subscription));
    };
    ws.onmessage = (message: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastHeard = now();
      const frame = parseFrame(message.data);
      if (frame === null) return;
      switch (frame.type) {
        case "event":
          this.ingest(frame.event);
          break;
        case "subscribed":
          this.confirmed = frame.subscription;
          if (!this.facts.wsOpen) this.opened();
          break;
        case "error":
          this.lastError = frame.reason;
          break;
        default:
          break;
      }
    };
    ws.onclose = (e: CloseEvent) => this.socketClosed(ws, e.code, e.reason);
  }

  /** The gateway confirmed the first subscription: the stream is live. */
  private opened(): void {
    const resumed = this.facts.wasLive || this.facts.wsFailures > 0;
    this.facts = { ...this.facts, wsOpen: true, wasLive: true, wsFailures: 0, unreachable: false };
    this.lastError = "";
    this.update();
    // Whatever happened while the stream was down is fetched again by the views.
    if (resumed) this.emit({ kind: "resync", ts: now() });
  }

  private socketClosed(ws: WebSocket | null, code: number, reason = ""): void {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    this.confirmed = null;
    // Refreshing revokes the token the stream was opened with, which may close it first.
    const changed = this.openToken !== null && this.token() !== this.openToken;
    const { action, why } = closeAction(code, changed);
    if (why) this.lastError = reason ? `${why}: ${reason}` : why;
    if (action === "reconnect") {
      this.facts = { ...this.facts, wsOpen: false };
      this.update();
      this.openSocket();
      return;
    }
    this.facts = { ...this.facts, wsOpen: false, wsFailures: this.facts.wsFailures + 1 };
    this.update();
    this.reconnectTimer = setTimeout(() => this.openSocket(), backoffMs(this.facts.wsFailures, Math.random()));
    void this.poll(false);
  }

  /** Ping the open stream; one that has said nothing for too long is closed and retried. */
  private ping(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (isSilent(this.lastHeard, now())) {
      ws.close(CLOSE_SILENT, "no answer to pings");
      // A dead connection may never deliver its close event: treat it as closed now.
      this.socketClosed(ws, CLOSE_SILENT);
      return;
    }
    ws.send(PING_MESSAGE);
  }

  private restartPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.stopped) return;
    this.pollTimer = setInterval(() => void this.poll(false), this.intervalMs);
  }

  private async poll(force: boolean): Promise<void> {
    if (this.stopped || this.polling) return;
    if (!force && !shouldPoll(this.facts)) return;
    if (!force && typeof document !== "undefined" && document.hidden) return;
    this.polling = true;
    try {
      const sub = this.subscription;
      if (sub.hosts.length === 0) {
        for (const [host, summary] of await this.api.fleet()) this.store.addSummary(host, summary);
      } else {
        for (const host of sub.hosts) {
          const current = await this.api.current(host);
          if (!current) continue;
          this.store.addSample(current.sample, true);
          for (const app of current.apps) this.store.addApp(app);
          for (const check of current.checks) this.store.addCheck(check);
        }
      }
      this.lastUpdate = now();
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
      this.emit({ kind: "tick", ts: now() });
    }
  }
}

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { ApiError } from "../api/http";
import type { GatewayHealth } from "../api/types";
import type { FeedEvent } from "../live/feed";
import type { HostData } from "../live/store";
import { useServices } from "./context";
import type { SessionState } from "./session";

export function useSession(): SessionState {
  const { session } = useServices();
  return useSyncExternalStore(session.subscribe, session.snapshot);
}

export function useFeedState() {
  const { feed } = useServices();
  const [, bump] = useState(0);
  useEffect(() => feed.onState(() => bump((n) => n + 1)), [feed]);
  return { state: feed.state, lastUpdate: feed.lastUpdate, lastError: feed.lastError, autoRefresh: feed.autoRefresh, intervalMs: feed.intervalMs };
}

/** Call `listener` for every live event while mounted. */
export function useFeedEvents(listener: (event: FeedEvent) => void): void {
  const { feed } = useServices();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => feed.onEvent((e) => ref.current(e)), [feed]);
}

/** One host's live data; re-renders when it changes. */
export function useHostData(host: string): HostData | undefined {
  const { store } = useServices();
  const subscribe = useCallback(
    (cb: () => void) => store.subscribe((h) => {
      if (h === host) cb();
    }),
    [store, host],
  );
  const version = useSyncExternalStore(subscribe, () => store.get(host)?.version ?? -1);
  void version;
  return store.get(host);
}

/** A counter bumped when any host changes, at most once per `ms` (the fleet table). */
export function useStoreTick(ms = 1000): number {
  const { store } = useServices();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = store.subscribe(() => {
      timer ??= setTimeout(() => {
        timer = null;
        setTick((n) => n + 1);
      }, ms);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [store, ms]);
  return tick;
}

/** The current time in epoch seconds, updated every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() / 1000), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** The endpoint does not exist on this gateway. */
  notAvailable: boolean;
  reload: () => void;
}

export interface RefreshOn {
  /** Reload on every poll of the feed (when the stream is not live) and on resync. */
  ticks?: boolean;
  /** Reload when a live event of one of these kinds arrives. */
  kinds?: string[];
  /** Reload this often (ms) whatever the stream does, while the page is visible. */
  every?: number;
}

const RETRY_MS = 10_000;

/** An error worth asking again about: unreachable, or a part behind the gateway is down. */
export function transient(error: unknown): boolean {
  return error instanceof ApiError && (error.offline || error.status === 502 || error.status === 503 || error.status === 504);
}

/**
 * Load something from the gateway, keep the last good answer while reloading, and reload
 * when the feed says so. An endpoint that does not exist is not asked again.
 */
export function useResource<T>(load: () => Promise<T>, deps: unknown[], refresh: RefreshOn = {}): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const generation = useRef(0);
  const inFlight = useRef(false);
  const missing = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;

  const retry = useRef<ReturnType<typeof setTimeout> | null>(null);
  const run = useCallback(() => {
    if (missing.current || inFlight.current) return;
    if (retry.current) clearTimeout(retry.current);
    retry.current = null;
    const mine = ++generation.current;
    inFlight.current = true;
    loadRef.current().then(
      (data) => {
        inFlight.current = false;
        if (mine === generation.current) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        inFlight.current = false;
        if (error instanceof ApiError && error.notAvailable) missing.current = true;
        if (mine !== generation.current) return;
        setState((s) => ({ data: s.data, error, loading: false }));
        // A service that is down or restarting (the alerter, the notifier) is asked again.
        if (transient(error)) retry.current = setTimeout(run, RETRY_MS);
      },
    );
  }, []);
  useEffect(
    () => () => {
      if (retry.current) clearTimeout(retry.current);
    },
    [],
  );

  useEffect(() => {
    missing.current = false;
    inFlight.current = false;
    generation.current += 1;
    setState({ data: undefined, error: null, loading: true });
    run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  const kinds = refresh.kinds?.join(",") ?? "";
  const { feed } = useServices();
  useEffect(() => {
    const wanted = new Set(kinds ? kinds.split(",") : []);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = feed.onEvent((event) => {
      const tick = event.kind === "tick" || event.kind === "resync";
      if ((tick && refresh.ticks) || wanted.has(event.kind)) {
        // Bursts of events cause one reload.
        timer ??= setTimeout(() => {
          timer = null;
          run();
        }, 250);
      }
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [feed, run, kinds, refresh.ticks]);

  useEffect(() => {
    if (!refresh.every) return;
    const timer = setInterval(() => {
      if (typeof document === "undefined" || !document.hidden) run();
    }, refresh.every);
    return () => clearInterval(timer);
  }, [run, refresh.every]);

  const notAvailable = state.error instanceof ApiError && state.error.notAvailable;
  return { ...state, notAvailable, reload: run };
}

/** The gateway's `/healthz`, asked every `ms` while mounted; null until known or unreachable. */
export function useGatewayHealth(ms = 15000): GatewayHealth | null {
  const { session } = useServices();
  const [health, setHealth] = useState<GatewayHealth | null>(null);
  useEffect(() => {
    let stopped = false;
    const ask = () =>
      void session.api.gatewayHealth().then(
        (h) => !stopped && setHealth(h),
        () => !stopped && setHealth(null), // unreachable: the connection state says so
      );
    ask();
    const timer = setInterval(ask, ms);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session, ms]);
  return health;
}

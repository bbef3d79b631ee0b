import { useEffect, useRef, useState } from "react";
import { useServices } from "../../app/context";
import { ApiError } from "../../api/http";
import { followsNow, maxPointsFor, RANGE_SECONDS, rangeBounds, type TimeRange } from "../../lib/time";
import { alignSeries, ChartWindow, halfStep } from "../../lib/timeseries";
import { type ChartGroup, rowOf } from "../../lib/trends";

export type TrendMode = "loading" | "history" | "live-only";

export interface Trend {
  window: ChartWindow;
  version: number;
  mode: TrendMode;
  error: unknown;
  xRange: [number, number];
}

/**
 * One chart's data: the range's history from the gateway, then the live edge appended as
 * samples arrive. Without a history endpoint, the points seen since the page opened.
 */
/** Live points only: the span they cover (two minutes at least), not the whole range. */
function liveRange(win: ChartWindow, range: TimeRange, now: number): [number, number] {
  const [start] = rangeBounds(range, now);
  const first = win.table[0].length ? win.table[0][0] : now;
  return [Math.max(start, Math.min(first, now - 120)), now];
}

export function useTrend(host: string, group: ChartGroup, range: TimeRange, resync: number): Trend {
  const { session, store } = useServices();
  const specsKey = group.specs.map((s) => s.series).join("|");
  const rangeKey = JSON.stringify(range);
  const windowRef = useRef<ChartWindow>(new ChartWindow(group.specs.length, maxPointsFor(range)));
  const [state, setState] = useState<{ version: number; mode: TrendMode; error: unknown; xRange: [number, number] }>(() => ({
    version: 0,
    mode: "loading",
    error: null,
    xRange: rangeBounds(range, Date.now() / 1000),
  }));

  useEffect(() => {
    let cancelled = false;
    const specs = group.specs;
    const maxPoints = maxPointsFor(range);
    const fromStore = (since: number) => alignSeries(specs.map((s) => store.focusSeries(host, s.series, since)));
    const live = followsNow(range);
    windowRef.current = new ChartWindow(specs.length, maxPoints, live ? fromStore(-Infinity) : undefined);
    setState((s) => ({ ...s, version: s.version + 1, mode: "loading", error: null, xRange: rangeBounds(range, Date.now() / 1000) }));

    const load = async () => {
      try {
        const history = await Promise.all(specs.map((s) => session.api.history(host, s.series, range)));
        if (cancelled) return;
        const tolerance = Math.max(0, ...history.map(halfStep)) * 0.999;
        const win = new ChartWindow(specs.length, maxPoints, alignSeries(history, tolerance));
        // Points that arrived while the history was on its way.
        if (live) {
          const since = (win.lastTime() ?? -Infinity) + 1e-6;
          const recent = fromStore(since);
          for (let i = 0; i < recent[0].length; i++) win.append(recent[0][i], recent.slice(1).map((c) => c[i]));
        }
        windowRef.current = win;
        setState((s) => ({ ...s, version: s.version + 1, mode: "history", error: null }));
      } catch (error) {
        if (cancelled) return;
        const missing = error instanceof ApiError && error.notAvailable;
        const now = Date.now() / 1000;
        setState((s) => ({ ...s, version: s.version + 1, mode: "live-only", error: missing ? null : error, xRange: liveRange(windowRef.current, range, now) }));
      }
    };
    void load();

    if (!live) {
      return () => {
        cancelled = true;
      };
    }
    const span = range.kind === "relative" ? RANGE_SECONDS[range.key] : 3600;
    const off = store.subscribe((changed) => {
      if (changed !== host) return;
      const data = store.get(host);
      const source = group.app ? data?.apps.get(group.app) : data?.sample;
      if (!source) return;
      const win = windowRef.current;
      if (!win.append(source.ts, rowOf(specs, source))) return;
      const now = Math.max(Date.now() / 1000, source.ts);
      win.trimBefore(now - span);
      setState((s) => ({ ...s, version: s.version + 1, xRange: s.mode === "live-only" ? liveRange(win, range, now) : [now - span, now] }));
    });
    return () => {
      cancelled = true;
      off();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [host, specsKey, rangeKey, group.app, resync, session, store]);

  return { window: windowRef.current, ...state };
}

import { useEffect, useRef, useState } from "react";
import { useServices } from "../../app/context";
import { ApiError } from "../../api/http";
import { followsNow, maxPointsFor, RANGE_SECONDS, rangeBounds, shownRange, stepFor, type TimeRange } from "../../lib/time";
import { alignSeries, ChartWindow } from "../../lib/timeseries";
import { type ChartGroup, rowOf } from "../../lib/trends";

export type TrendMode = "loading" | "history" | "live-only";

export interface Trend {
  window: ChartWindow;
  version: number;
  mode: TrendMode;
  error: unknown;
  xRange: [number, number];
}

/** The span to show: the range, or less of it while the data covers only its end. */
function liveRange(win: ChartWindow, range: TimeRange, now: number): [number, number] {
  const [start] = rangeBounds(range, now);
  return shownRange(start, now, win.length ? win.table[0][0] : null);
}

/**
 * One chart's data: the range's history from the gateway (one request per series), then
 * the live edge appended as whole samples arrive, averaged into the history's step. When
 * the history cannot be had, the points seen since the page opened.
 */
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
    const live = followsNow(range);
    let step = stepFor(range);
    // Until the history is in, the points the page has already seen (one per second).
    const seeded = new ChartWindow(specs.length, maxPoints);
    const seen = alignSeries(specs.map((s) => store.focusSeries(host, s.series)));
    if (live) for (let i = 0; i < seen[0].length; i++) seeded.appendLive(seen[0][i], seen.slice(1).map((c) => c[i]), step);
    windowRef.current = seeded;
    let lastTs = seen[0].length ? seen[0][seen[0].length - 1] : -Infinity;
    setState((s) => ({ ...s, version: s.version + 1, mode: "loading", error: null, xRange: rangeBounds(range, Date.now() / 1000) }));

    const load = async () => {
      try {
        const history = await Promise.all(specs.map((s) => session.api.history(host, s.series, range)));
        if (cancelled) return;
        const answered = history.filter((h) => h.ts.length).map((h) => h.step);
        if (answered.length) step = Math.max(...answered);
        const win = new ChartWindow(specs.length, maxPoints, alignSeries(history));
        // Points that arrived while the history was on its way.
        if (live) {
          const recent = alignSeries(specs.map((s) => store.focusSeries(host, s.series, (win.lastTime() ?? -Infinity) + step)));
          for (let i = 0; i < recent[0].length; i++) win.appendLive(recent[0][i], recent.slice(1).map((c) => c[i]), step);
        }
        windowRef.current = win;
        const now = Date.now() / 1000;
        const xRange = live ? liveRange(win, range, now) : rangeBounds(range, now);
        setState((s) => ({ ...s, version: s.version + 1, mode: "history", error: null, xRange }));
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
      // The store also calls for checks and facts: each sample is taken once.
      if (!source || source.ts <= lastTs) return;
      lastTs = source.ts;
      const win = windowRef.current;
      if (!win.appendLive(source.ts, rowOf(specs, source), step)) return;
      const now = Math.max(Date.now() / 1000, source.ts);
      win.trimBefore(now - span);
      setState((s) => ({ ...s, version: s.version + 1, xRange: liveRange(win, range, now) }));
    });
    return () => {
      cancelled = true;
      off();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [host, specsKey, rangeKey, group.app, resync, session, store]);

  return { window: windowRef.current, ...state };
}

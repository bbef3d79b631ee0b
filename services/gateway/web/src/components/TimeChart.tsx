import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatTime } from "../lib/format";
import type { Aligned } from "../lib/timeseries";

export interface ChartSeries {
  label: string;
  color: string;
  /** Second y axis (on the right), for a series in other units. */
  right?: boolean;
  dash?: boolean;
}

export interface Marker {
  ts: number;
  text: string;
}

export interface Flag {
  ts: number;
  /** The value flagged, where the ring is drawn. */
  value: number;
  /** Index into `series`. */
  series: number;
  text: string;
}

interface Props {
  series: ChartSeries[];
  /** The table the chart draws; mutated in place by its owner, who bumps `version`. */
  data: Aligned;
  version: number;
  height?: number;
  format: (v: number) => string;
  formatRight?: (v: number) => string;
  /** Fixed top of the left axis (100 for percentages); automatic otherwise. */
  max?: number;
  /** The time span to show, whatever the data covers. */
  xRange?: [number, number];
  markers?: Marker[];
  flags?: Flag[];
  emptyText?: string;
  testId?: string;
  /** Called after each draw (the benchmark times redraws with it). */
  onDrawn?: () => void;
}

let firstDrawn = false;

function cssVar(name: string, fallback: string): string {
  if (typeof document === "undefined") return fallback;
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function useColorScheme(): string {
  const query = typeof window !== "undefined" ? window.matchMedia?.("(prefers-color-scheme: dark)") : undefined;
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener("change", on);
    return () => query.removeEventListener("change", on);
  }, [query]);
  return dark ? "dark" : "light";
}

/** A time-series chart drawn by uPlot, with annotation markers and anomaly flags. */
export function TimeChart(props: Props) {
  const { series, data, version, height = 220, format, formatRight, max, xRange, markers, flags, emptyText, testId } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const extras = useRef({ xRange, markers, flags, format, formatRight, onDrawn: props.onDrawn });
  extras.current = { xRange, markers, flags, format, formatRight, onDrawn: props.onDrawn };
  const scheme = useColorScheme();
  const key = series.map((s) => `${s.label}|${s.color}|${s.right ? 1 : 0}`).join(";");

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const axis = cssVar("--chart-axis", "#7a8494");
    const grid = cssVar("--chart-grid", "rgba(0,0,0,0.07)");
    const markerColor = cssVar("--info", "#2f78b7");
    const flagColor = cssVar("--crit", "#c93535");
    const hasRight = series.some((s) => s.right);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      pxAlign: false,
      cursor: { sync: { key: "vitals" }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          range: (_u, lo, hi) => extras.current.xRange ?? [lo, hi],
        },
        y: { range: (_u, _lo, hi) => [0, max ?? niceMax(hi)] },
        y2: { range: (_u, _lo, hi) => [0, niceMax(hi)] },
      },
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1 },
          space: 70,
          values: (u, splits) => timeTicks(splits, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)),
        },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          size: axisSize,
          values: (_u, vals) => vals.map((v) => extras.current.format(v)),
        },
        ...(hasRight
          ? [
              {
                scale: "y2",
                side: 1,
                stroke: axis,
                grid: { show: false },
                ticks: { show: false },
                size: axisSize,
                values: (_u: uPlot, vals: number[]) => vals.map((v) => (extras.current.formatRight ?? extras.current.format)(v)),
              },
            ]
          : []),
      ],
      series: [
        { value: (u, v, _s, idx) => (idx == null ? latestTime(u) : v == null ? "—" : formatTime(v)) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          scale: s.right ? "y2" : "y",
          // Joined across rows where a series has no point (undefined), broken at a gap (null).
          spanGaps: false,
          dash: s.dash ? [5, 4] : undefined,
          points: { show: false },
          // Without a cursor on the chart, the legend shows the latest values.
          value: (u: uPlot, v: number | null, _s: number, idx: number | null) => {
            const shown = idx == null ? latest(u.data[i + 1]) : v;
            const fmt = s.right ? (extras.current.formatRight ?? extras.current.format) : extras.current.format;
            return shown == null ? "—" : fmt(shown);
          },
        })),
      ],
      hooks: {
        draw: [
          (u) => {
            drawMarkers(u, extras.current.markers ?? [], markerColor);
            drawFlags(u, extras.current.flags ?? [], flagColor);
            if (!firstDrawn && u.data[0].length > 0) {
              firstDrawn = true;
              performance.mark("vitals:first-chart");
            }
            extras.current.onDrawn?.();
          },
        ],
      },
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (Math.abs(width - u.width) > 1) u.setSize({ width, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series, size, scale or colours change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height, max, scheme]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(data as uPlot.AlignedData);
    if (u.legend.idx == null) u.setLegend({ idxs: u.series.map(() => null) }, false);
  }, [data, version]);

  useEffect(() => {
    plot.current?.redraw(false);
  }, [markers, flags, xRange?.[0], xRange?.[1]]);

  const points = data[0].length;
  return (
    <div className="chart" data-testid={testId} data-points={points}>
      <div ref={host} />
      {points === 0 ? <div className="chart-empty">{emptyText ?? "No data in this range yet"}</div> : null}
    </div>
  );
}

/** A round top for an automatic axis: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(hi: number | null): number {
  if (hi == null || !Number.isFinite(hi) || hi <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(hi));
  for (const m of [1, 2, 2.5, 5, 10]) if (hi <= m * p) return m * p;
  return 10 * p;
}

/** Width of a y axis: its longest label, measured, so "1.81 MiB/s" is never cut. */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx] as uPlot.Axis & { _size?: number; font?: string[] };
  if (cycleNum > 1 && axis._size) return axis._size;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
  u.ctx.font = axis.font?.[0] ?? "12px system-ui";
  return Math.ceil(16 + u.ctx.measureText(longest).width / devicePixelRatio);
}

function latest(col: ArrayLike<number | null | undefined> | undefined): number | null {
  if (!col) return null;
  for (let i = col.length - 1; i >= 0; i--) {
    const v = col[i];
    if (v != null) return v;
  }
  return null;
}

function latestTime(u: uPlot): string {
  const xs = u.data[0];
  return xs.length ? formatTime(xs[xs.length - 1]) : "—";
}

const two = (n: number) => String(n).padStart(2, "0");

/** Axis labels in 24-hour time; with the date past two days, with seconds under ten minutes. */
export function timeTicks(splits: number[], span: number): string[] {
  return splits.map((ts) => {
    const d = new Date(ts * 1000);
    const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
    if (span > 2 * 86400) return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
    if (span < 600) return `${hm}:${two(d.getSeconds())}`;
    return hm;
  });
}

function drawMarkers(u: uPlot, markers: Marker[], color: string): void {
  if (markers.length === 0) return;
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = devicePixelRatio;
  ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
  for (const m of markers) {
    const x = Math.round(u.valToPos(m.ts, "x", true));
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    const s = 4 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x, top + s * 2);
    ctx.lineTo(x - s, top + s);
    ctx.lineTo(x, top);
    ctx.lineTo(x + s, top + s);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

function drawFlags(u: uPlot, flags: Flag[], color: string): void {
  if (flags.length === 0) return;
  const ctx = u.ctx;
  const xs = u.data[0];
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5 * devicePixelRatio;
  const radius = 4 * devicePixelRatio;
  // A run of flags a few seconds apart would draw one blot: one ring per ring's width.
  const lastX = new Map<number, number>();
  for (const f of flags) {
    const series = u.series[f.series + 1];
    if (!series || xs.length === 0) continue;
    const x = u.valToPos(f.ts, "x", true);
    const y = u.valToPos(f.value, series.scale ?? "y", true);
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    if (Math.abs(x - (lastX.get(f.series) ?? -Infinity)) < 2 * radius) continue;
    lastX.set(f.series, x);
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.restore();
}

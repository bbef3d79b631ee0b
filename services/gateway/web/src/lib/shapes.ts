// Geometry for the hand-drawn pictures: sparkline paths and doughnut arcs.
import type { Series } from "./timeseries";

const r1 = (v: number) => Math.round(v * 10) / 10;

/** SVG paths (line and filled area) of the points of `series` inside [t0, t1]. */
export function sparkPath(series: Series, t0: number, t1: number, lo: number, hi: number, width: number, height: number): { line: string; area: string } {
  const span = t1 - t0 || 1;
  const range = hi - lo || 1;
  const pts: string[] = [];
  let firstX = 0;
  let lastX = 0;
  for (let i = 0; i < series.ts.length; i++) {
    const t = series.ts[i];
    if (t < t0 || t > t1) continue;
    const v = Math.min(hi, Math.max(lo, series.values[i]));
    const x = r1(((t - t0) / span) * width);
    const y = r1(height - ((v - lo) / range) * (height - 1) - 0.5);
    if (pts.length === 0) firstX = x;
    lastX = x;
    pts.push(`${x},${y}`);
  }
  if (pts.length < 2) return { line: "", area: "" };
  const line = `M${pts.join("L")}`;
  return { line, area: `${line}L${lastX},${height}L${firstX},${height}Z` };
}

/** The SVG arc of a doughnut segment from fraction `from` to `to` (0..1, clockwise from top). */
export function arcPath(cx: number, cy: number, r: number, inner: number, from: number, to: number): string {
  const sweep = Math.min(to - from, 0.99999);
  if (sweep <= 0) return "";
  const a0 = from * 2 * Math.PI - Math.PI / 2;
  const a1 = (from + sweep) * 2 * Math.PI - Math.PI / 2;
  const large = sweep > 0.5 ? 1 : 0;
  const p = (a: number, rad: number) => `${r1(cx + rad * Math.cos(a))},${r1(cy + rad * Math.sin(a))}`;
  return `M${p(a0, r)}A${r},${r} 0 ${large} 1 ${p(a1, r)}L${p(a1, inner)}A${inner},${inner} 0 ${large} 0 ${p(a0, inner)}Z`;
}

/** Colour level of a percentage against warning and critical levels. */
export function level(percent: number | null | undefined, warn = 80, crit = 90): "" | "warn" | "crit" {
  if (percent == null) return "";
  if (percent >= crit) return "crit";
  if (percent >= warn) return "warn";
  return "";
}

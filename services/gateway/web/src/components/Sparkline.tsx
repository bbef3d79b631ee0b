import { memo } from "react";
import type { Series } from "../lib/timeseries";
import { sparkPath } from "../lib/shapes";

interface Props {
  series: Series;
  /** The time span shown, ending now (seconds). */
  span: number;
  now: number;
  color: string;
  max?: number;
  width?: number;
  height?: number;
  label: string;
}

/** A small line of the last `span` seconds; cheap enough for hundreds of rows. */
export const Sparkline = memo(function Sparkline({ series, span, now, color, max = 100, width = 96, height = 24, label }: Props) {
  // Less than the span known (no history yet): stretch what there is, five minutes at least.
  const first = series.ts.length ? series.ts[0] : now;
  const shown = Math.min(span, Math.max(300, now - first));
  const { line, area } = sparkPath(series, now - shown, now, 0, max, width, height);
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <line x1={0} x2={width} y1={height - 0.5} y2={height - 0.5} stroke="var(--border)" />
      {area ? <path className="area" d={area} fill={color} /> : null}
      {line ? <path className="line" d={line} stroke={color} /> : null}
    </svg>
  );
});

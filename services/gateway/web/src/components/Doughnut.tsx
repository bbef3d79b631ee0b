import { arcPath } from "../lib/shapes";

export interface Slice {
  label: string;
  value: number;
  color: string;
  text: string;
}

/** A doughnut of a few slices with the first one's share in the middle. */
export function Doughnut({ slices, size = 132, title }: { slices: Slice[]; size?: number; title: string }) {
  const total = slices.reduce((s, x) => s + Math.max(0, x.value), 0);
  const c = size / 2;
  let at = 0;
  const share = total > 0 ? (Math.max(0, slices[0]?.value ?? 0) / total) * 100 : 0;
  return (
    <div className="doughnut-wrap">
      <svg width={size} height={size} viewBox={`0 0 ${size} ${size}`} role="img" aria-label={title}>
        <circle cx={c} cy={c} r={c - 10} fill="none" stroke="var(--bar-track)" strokeWidth={18} />
        {total > 0
          ? slices.map((s) => {
              const from = at;
              at += Math.max(0, s.value) / total;
              return <path key={s.label} d={arcPath(c, c, c - 1, c - 19, from, at)} fill={s.color} />;
            })
          : null}
        <text x={c} y={c + 2} textAnchor="middle" fontSize={20} fontWeight={650} fill="var(--text)">
          {total > 0 ? `${share.toFixed(share >= 10 ? 0 : 1)}%` : "—"}
        </text>
        <text x={c} y={c + 18} textAnchor="middle" fontSize={11} fill="var(--muted)">
          {slices[0]?.label.toLowerCase()}
        </text>
      </svg>
      <ul className="legend-list">
        {slices.map((s) => (
          <li key={s.label}>
            <span className="sw" style={{ background: s.color }} />
            <span className="muted">{s.label}</span>
            <strong className="num">{s.text}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

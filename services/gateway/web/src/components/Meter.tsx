import { level } from "../lib/shapes";

/** A thin bar filled to `percent`, amber past `warn`, red past `crit`. */
export function Meter({ percent, warn = 80, crit = 90, label }: { percent: number | null | undefined; warn?: number; crit?: number; label: string }) {
  const p = Math.max(0, Math.min(100, percent ?? 0));
  return (
    <div className={`meter ${level(percent, warn, crit)}`} role="meter" aria-label={label} aria-valuenow={percent ?? undefined} aria-valuemin={0} aria-valuemax={100}>
      <span style={{ width: `${p}%` }} />
    </div>
  );
}

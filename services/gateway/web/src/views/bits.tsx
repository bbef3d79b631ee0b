import type { HostStatus, Severity } from "../api/types";
import type { SeverityCounts } from "../lib/fleet";

const STATUS_TEXT: Record<HostStatus, string> = { up: "Up", stale: "Stale", down: "Down" };

export function StatusBadge({ status }: { status: HostStatus }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      <span className="dot" />
      {STATUS_TEXT[status]}
    </span>
  );
}

/** A 0–100 health score coloured good (≥ 80), fair (≥ 50) or poor; a dash when unknown. */
export function HealthBadge({ score }: { score: number | null }) {
  if (score === null) return <span className="faint" title="Health scores come from the analytics service">—</span>;
  const grade = score >= 80 ? "good" : score >= 50 ? "fair" : "poor";
  return <span className={`health health-${grade}`}>{Math.round(score)}</span>;
}

export function SeverityChip({ severity, children }: { severity: Severity; children?: React.ReactNode }) {
  return <span className={`chip chip-${severity}`}>{children ?? severity}</span>;
}

export function SeverityChips({ counts }: { counts: SeverityCounts }) {
  const parts = (["critical", "warning", "info"] as const).filter((s) => counts[s] > 0);
  if (parts.length === 0) return <span className="chip chip-ok">none</span>;
  return (
    <span className="chips">
      {parts.map((s) => (
        <span key={s} className={`chip chip-${s}`} title={`${counts[s]} ${s}`}>
          {counts[s]} {s === "critical" ? "crit" : s === "warning" ? "warn" : "info"}
        </span>
      ))}
    </span>
  );
}

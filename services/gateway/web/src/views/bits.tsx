import type { ReactNode } from "react";
import type { HealthAnswer, HostStatus, ScorePart, Severity } from "../api/types";
import { Link } from "../components/Link";
import { Empty, Panel } from "../components/Panel";
import { hostPath } from "../app/router";
import type { SeverityCounts } from "../lib/fleet";
import { formatTime } from "../lib/format";
import { costlyParts, gradeOf, partDetail, partLabel, partsSummary, partValue, points } from "../lib/health";

const STATUS_TEXT: Record<HostStatus, string> = { up: "Up", stale: "Stale", down: "Down" };

export function StatusBadge({ status }: { status: HostStatus }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      <span className="dot" />
      {STATUS_TEXT[status]}
    </span>
  );
}

interface Scored {
  score: number;
  status: string;
  parts: ScorePart[];
}

/** A 0–100 health score coloured by its status; the tooltip says what costs points. */
export function HealthBadge({ health, unavailable }: { health: Scored | null; unavailable?: boolean }) {
  if (health === null) {
    const why = unavailable ? "Health scores are not available from this gateway" : "No health score yet";
    return (
      <span className="faint" title={why} data-testid="health-none">
        —
      </span>
    );
  }
  const grade = gradeOf(health.score, health.status);
  return (
    <span className={`health health-${grade}`} title={`${grade}\n${partsSummary(health.parts)}`} data-health={Math.round(health.score)}>
      {Math.round(health.score)}
    </span>
  );
}

/** The parts of a score that cost points, the largest first, with what each saw. */
export function HealthParts({ parts, empty }: { parts: ScorePart[]; empty: ReactNode }) {
  const costly = costlyParts(parts);
  if (costly.length === 0) return <Empty>{empty}</Empty>;
  return (
    <table className="table parts-table">
      <tbody>
        {costly.map((p) => (
          <tr key={`${p.kind}:${p.name}`}>
            <td>
              <strong>{partLabel(p)}</strong>
              {p.detail ? <div className="faint">{partDetail(p, (ts) => formatTime(ts))}</div> : null}
            </td>
            <td className="r num nowrap">{partValue(p)}</td>
            <td className="r num nowrap penalty">−{points(p.penalty)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The fleet's score: which hosts and check groups pull it down, and each group's score. */
export function FleetHealthPanel({ health }: { health: HealthAnswer }) {
  const fleet = health.fleet;
  if (!fleet) return null;
  return (
    <div className="grid grid-2" style={{ marginTop: 16 }}>
      <Panel title="Fleet health" hint={`${Math.round(fleet.score)} of 100, ${fleet.status}`} testId="fleet-health" flush>
        <table className="table parts-table">
          <tbody>
            {costlyParts(fleet.parts).map((p) => (
              <tr key={`${p.kind}:${p.name}`}>
                <td>{p.kind === "host" ? <Link to={hostPath(p.name)}>{p.name}</Link> : <strong>checks: {p.name}</strong>}</td>
                <td className="r num nowrap">{partValue(p)}</td>
                <td className="r num nowrap penalty">−{points(p.penalty)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {costlyParts(fleet.parts).length === 0 ? <Empty>Every host and check group is at 100.</Empty> : null}
      </Panel>
      <Panel title="Service check groups" testId="check-groups" flush>
        {health.groups.length === 0 ? (
          <Empty>No service checks report to this gateway.</Empty>
        ) : (
          <table className="table">
            <tbody>
              {health.groups.map((g) => (
                <tr key={g.group}>
                  <td>
                    <strong>{g.group}</strong>
                    <div className="faint">{g.checks.join(", ")}</div>
                  </td>
                  <td className="r">
                    <HealthBadge health={g} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
    </div>
  );
}

export function SeverityChip({ severity, children }: { severity: Severity; children?: ReactNode }) {
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

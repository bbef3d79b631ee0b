// The alerter's rules and the notifier's latest delivery attempts, as the gateway relays them.
import { useServices } from "../../app/context";
import { useResource } from "../../app/hooks";
import type { Rule } from "../../api/types";
import { Empty, Failure, Loading } from "../../components/Panel";
import { formatAge, formatDuration, formatMs, formatNumber, formatTime } from "../../lib/format";

function levels(r: Rule): string {
  // The alerter compares inclusively (engine.level_of).
  const op = r.op === "below" ? "≤" : "≥";
  const parts = [r.warning != null ? `warn ${op} ${formatNumber(r.warning)}` : "", r.critical != null ? `crit ${op} ${formatNumber(r.critical)}` : ""];
  return parts.filter(Boolean).join(", ") || r.kind;
}

export function Rules({ rules, error, loading }: { rules: Rule[] | undefined; error: unknown; loading: boolean }) {
  if (rules === undefined) return loading ? <Loading what="Loading rules…" /> : <Failure error={error} what="Rules" />;
  if (rules.length === 0) return <Empty>The alerter has no rules.</Empty>;
  return (
    <div className="scroll-x" style={{ maxHeight: 320, overflowY: "auto" }}>
      <table className="table">
        <thead>
          <tr>
            <th>Rule</th>
            <th className="hide-narrow">Series</th>
            <th>Levels</th>
            <th className="r">For</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.name}>
              <td>
                <strong>{r.name}</strong> {r.builtin ? <span className="faint">built-in</span> : null}
              </td>
              <td className="mono hide-narrow">{r.metric}</td>
              <td className="nowrap">{levels(r)}</td>
              <td className="r num">{r.for ? formatDuration(r.for) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Notifications({ now }: { now: number }) {
  const { session } = useServices();
  const attempts = useResource(() => session.api.notifications(50), [], { kinds: ["alert"], every: 60_000 });
  if (attempts.data === undefined) {
    return attempts.loading ? <Loading what="Loading notifications…" /> : <Failure error={attempts.error} what="Notifications" />;
  }
  if (attempts.data.length === 0) return <Empty>No notification has been sent yet (or no receiver is configured).</Empty>;
  return (
    <div className="scroll-x" style={{ maxHeight: 320, overflowY: "auto" }}>
      <table className="table">
        <thead>
          <tr>
            <th>When</th>
            <th>Receiver</th>
            <th>Result</th>
            <th className="r">Took</th>
          </tr>
        </thead>
        <tbody>
          {attempts.data.slice(0, 30).map((a) => (
            <tr key={`${a.id}:${a.attempt}`}>
              <td className="nowrap" title={formatTime(a.at)}>
                {formatAge(a.at, now)}
              </td>
              <td>
                {a.receiver} {a.channel !== a.receiver ? <span className="faint">{a.channel}</span> : null}
              </td>
              <td>
                <span className={`chip ${a.result === "delivered" ? "chip-ok" : a.result === "retry" ? "chip-warning" : "chip-critical"}`}>{a.result}</span>
                {a.attempt > 1 ? <span className="faint"> attempt {a.attempt}</span> : null}
                {a.error ? <div className="field-error">{a.error}</div> : null}
              </td>
              <td className="r num nowrap">{formatMs(a.latency_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// The silences covering a host: listed, created (for a duration, on the host or one of the
// alerter's rules) and deleted by admins.
import { type FormEvent, useState } from "react";
import { useServices } from "../../app/context";
import { useResource } from "../../app/hooks";
import type { Matcher, Rule, Silence } from "../../api/types";
import { Empty, errorText, Failure, Loading } from "../../components/Panel";
import { formatDuration, formatTime } from "../../lib/format";
import { silenceApplies } from "../../lib/trends";

const SILENCE_DURATIONS = [
  [1800, "30 min"],
  [3600, "1 hour"],
  [4 * 3600, "4 hours"],
  [86400, "1 day"],
  [7 * 86400, "1 week"],
] as const;

export function Silences({ host, isAdmin, now, rules }: { host: string; isAdmin: boolean; now: number; rules: Rule[] }) {
  const { session } = useServices();
  const silences = useResource(() => session.api.silences(), [], { ticks: true, kinds: ["alert"], every: 60_000 });
  const [error, setError] = useState("");
  const shown = (silences.data ?? []).filter((s) => s.status !== "expired" && s.ends_at > now && silenceApplies(s, host));

  const remove = async (s: Silence) => {
    if (!window.confirm(`Delete the silence ${describe(s)}?`)) return;
    try {
      await session.api.deleteSilence(s.id);
      setError("");
      silences.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (silences.data === undefined) {
    return silences.loading ? <Loading what="Loading silences…" /> : <Failure error={silences.error} what="Silences" />;
  }
  return (
    <>
      {shown.length === 0 ? (
        <Empty>No silence covers this host.</Empty>
      ) : (
        <div className="scroll-x">
        <table className="table">
          <thead>
            <tr>
              <th>Matches</th>
              <th>Ends</th>
              <th>By</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.id}>
                <td>
                  <span className="mono">{describe(s)}</span>
                  {s.comment ? <div className="muted">{s.comment}</div> : null}
                </td>
                <td className="nowrap" title={formatTime(s.ends_at)}>
                  {s.status === "pending" ? `starts in ${formatDuration(s.starts_at - now)}, ` : ""}ends in {formatDuration(s.ends_at - now)}
                </td>
                <td className="muted">{s.created_by || "—"}</td>
                <td className="r">
                  {isAdmin ? (
                    <button type="button" className="btn btn-small btn-danger" onClick={() => void remove(s)}>
                      Delete
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {isAdmin ? <NewSilence host={host} rules={rules} onDone={silences.reload} /> : null}
      {error ? <div className="notice notice-error">{error}</div> : null}
    </>
  );
}

function describe(s: Silence): string {
  return s.matchers.map((m) => `${m.name}${m.op}${m.value}`).join(", ") || "everything";
}

function NewSilence({ host, rules, onDone }: { host: string; rules: Rule[]; onDone: () => void }) {
  const { session } = useServices();
  const [duration, setDuration] = useState(3600);
  const [rule, setRule] = useState("");
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    const matchers: Matcher[] = [{ name: "host", value: host, op: "=" }];
    if (rule) matchers.push({ name: "rule", value: rule, op: "=" });
    try {
      await session.api.createSilence({ matchers, duration, comment: comment.trim() });
      setComment("");
      onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="toolbar" style={{ borderTop: "1px solid var(--border)", borderBottom: 0 }} onSubmit={(e) => void submit(e)} aria-label="New silence">
      <select className="select" aria-label="Silence which alerts" value={rule} onChange={(e) => setRule(e.target.value)}>
        <option value="">All alerts of {host}</option>
        {rules.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name}
          </option>
        ))}
      </select>
      <select className="select" aria-label="Silence for" value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
        {SILENCE_DURATIONS.map(([s, text]) => (
          <option key={s} value={s}>
            for {text}
          </option>
        ))}
      </select>
      <input className="input" style={{ minWidth: 140, flex: 1 }} placeholder="Why (optional)" aria-label="Silence comment" value={comment} onChange={(e) => setComment(e.target.value)} />
      <button type="submit" className="btn" disabled={busy}>
        {busy ? "Creating…" : "Silence"}
      </button>
      {error ? <span className="field-error">{error}</span> : null}
    </form>
  );
}

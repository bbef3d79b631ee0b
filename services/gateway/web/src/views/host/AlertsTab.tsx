import { type FormEvent, useMemo, useState } from "react";
import { useServices } from "../../app/context";
import { useFeedEvents, useHostData, useNow, useResource, useSession } from "../../app/hooks";
import { ApiError } from "../../api/http";
import { applyAlertEvent, toAlert } from "../../api/normalize";
import type { Alert, Matcher, Rule, ServiceStatus, Silence } from "../../api/types";
import { Empty, Failure, Loading, Panel } from "../../components/Panel";
import { formatAge, formatDuration, formatMs, formatNumber, formatPercent, formatTime } from "../../lib/format";
import { silenceApplies, sortAlerts } from "../../lib/trends";
import { SeverityChip } from "../bits";

const HISTORY_DAYS = 7;

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return "Your role does not allow this.";
    if (err.notAvailable) return "This gateway cannot do this yet.";
    return err.detail;
  }
  return String(err);
}

export function AlertsTab({ host }: { host: string }) {
  const { session } = useServices();
  const me = useSession();
  const now = useNow(5000);
  const isAdmin = me.role === "admin";
  const active = useResource(() => session.api.alerts({ host }), [host], { ticks: true });
  const [live, setLive] = useState<Alert[]>([]);
  useFeedEvents((e) => {
    if (e.kind === "alert" && e.host === host) setLive((l) => [...l.slice(-199), toAlert(e)]);
    if (e.kind === "resync") active.reload();
  });
  const rules = useResource(() => session.api.rules(), [], { every: 300_000, kinds: ["alert", "resync"] });
  // The REST answer, then any live events newer than it, applied in order.
  const alerts = useMemo(() => {
    let list = (active.data ?? []).filter((a) => a.host === host || !a.host);
    for (const e of live) list = applyAlertEvent(list, e);
    return sortAlerts(list.filter((a) => a.state !== "resolved"));
  }, [active.data, live, host]);

  return (
    <div className="stack" data-testid="alerts-tab">
      <Panel title="Active alerts" hint={active.data ? `${alerts.length} active` : undefined} flush={alerts.length > 0} testId="active-alerts">
        {active.data === undefined ? (
          active.loading ? <Loading what="Loading alerts…" /> : <Failure error={active.error} what="Alerts" />
        ) : alerts.length === 0 ? (
          <Empty>No active alerts on this host.</Empty>
        ) : (
          <ActiveAlerts
            alerts={alerts}
            now={now}
            isAdmin={isAdmin}
            onChanged={() => {
              // The alerter applies the acknowledgement asynchronously: ask again shortly.
              active.reload();
              setTimeout(active.reload, 1500);
            }}
          />
        )}
      </Panel>
      <div className="grid grid-2">
        <Panel title="Service checks" testId="service-checks" flush>
          <Checks host={host} />
        </Panel>
        <Panel title="Silences" testId="silences" flush>
          <Silences host={host} isAdmin={isAdmin} now={now} rules={rules.data ?? []} />
        </Panel>
      </div>
      <Panel title="Alert history" hint={`last ${HISTORY_DAYS} days`} flush testId="alert-history">
        <History host={host} now={now} />
      </Panel>
      <div className="grid grid-2">
        <Panel title="Rules" hint={rules.data ? `${rules.data.length} rules` : undefined} flush testId="rules">
          <Rules rules={rules.data} error={rules.error} loading={rules.loading} />
        </Panel>
        <Panel title="Notifications" hint="latest delivery attempts, every host" flush testId="notifications">
          <Notifications now={now} />
        </Panel>
      </div>
    </div>
  );
}

function ActiveAlerts({ alerts, now, isAdmin, onChanged }: { alerts: Alert[]; now: number; isAdmin: boolean; onChanged: () => void }) {
  return (
    <div className="scroll-x">
      <table className="table alerts-table" data-testid="active-alerts-table">
        <thead>
          <tr>
            <th className="sev-bar" aria-label="Severity colour" />
            <th>Severity</th>
            <th>Alert</th>
            <th className="r">Value</th>
            <th>State</th>
            <th className="r">Age</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.alert_id} data-alert={a.alert_id} data-state={a.state}>
              <td className={`sev-bar ${a.severity}`} />
              <td className="a-sev">
                <SeverityChip severity={a.severity} />
              </td>
              <td className="a-name">
                <strong>{a.rule}</strong>
                {a.summary ? <div className="muted">{a.summary}</div> : null}
              </td>
              <td className="r num nowrap a-value">
                {a.value != null ? formatNumber(a.value) : "—"}
                {a.threshold != null ? <span className="faint"> / {formatNumber(a.threshold)}</span> : null}
              </td>
              <td className="nowrap a-state" data-testid="alert-state">
                {a.state === "acknowledged" ? (
                  <span title={a.comment || undefined}>
                    Acknowledged{a.acknowledged_by ? ` by ${a.acknowledged_by}` : ""}
                    {a.acknowledged_at ? <span className="faint"> {formatAge(a.acknowledged_at, now)}</span> : null}
                  </span>
                ) : a.state === "silenced" ? (
                  "Silenced"
                ) : (
                  <span>Firing{a.escalation_step ? ` (escalated ×${a.escalation_step})` : ""}</span>
                )}
              </td>
              <td className="r num nowrap a-age" title={formatTime(a.started_at || a.ts)}>
                {formatDuration(now - (a.started_at || a.ts))}
              </td>
              <td className="r a-act">{isAdmin && a.state === "firing" ? <AckButton alert={a} onDone={onChanged} /> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AckButton({ alert, onDone }: { alert: Alert; onDone: () => void }) {
  const { session } = useServices();
  const [open, setOpen] = useState(false);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  if (!open) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setOpen(true)}>
        Acknowledge
      </button>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await session.api.acknowledge(alert.alert_id, comment.trim());
      setOpen(false);
      onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="ack-form" onSubmit={(e) => void submit(e)}>
      <input className="input" placeholder="Comment (optional)" aria-label="Acknowledgement comment" value={comment} maxLength={500} onChange={(e) => setComment(e.target.value)} autoFocus />
      <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
        {busy ? "Sending…" : "Confirm"}
      </button>
      <button type="button" className="btn btn-small btn-ghost" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error ? <span className="field-error">{error}</span> : null}
    </form>
  );
}

function Checks({ host }: { host: string }) {
  const { session } = useServices();
  const data = useHostData(host);
  const checks = useResource(() => session.api.services(host), [host], { ticks: true, every: 30_000 });
  const now = useNow(5000);
  // Live check results update status and latency between reloads; uptime stays the gateway's.
  const rows: ServiceStatus[] = useMemo(() => {
    const byName = new Map((checks.data ?? []).filter((c) => c.host === host).map((c) => [c.check, c]));
    for (const live of data?.checks.values() ?? []) {
      const known = byName.get(live.check);
      if (known && known.ts >= live.ts) continue;
      byName.set(live.check, {
        ...known,
        host,
        check: live.check,
        kind: live.check_kind,
        group: live.group ?? known?.group ?? "",
        ok: live.ok,
        reason: live.reason ?? "",
        ts: live.ts,
        latency_ms: live.latency_ms ?? 0,
        status_code: live.status_code ?? null,
      });
    }
    return [...byName.values()].sort((a, b) => Number(a.ok) - Number(b.ok) || a.check.localeCompare(b.check));
  }, [checks.data, data?.version, host]); // eslint-disable-line react-hooks/exhaustive-deps

  if (rows.length === 0) {
    if (checks.loading) return <Loading what="Loading service checks…" />;
    if (checks.error) return <Failure error={checks.error} what="Service checks" />;
    return <Empty>No service checks run on this host. Configure them in the agent's settings ([[agent.checks]]).</Empty>;
  }
  return (
    <div className="scroll-x">
      <table className="table" data-testid="checks-table">
        <thead>
          <tr>
            <th>Check</th>
            <th>Status</th>
            <th className="r" title="Share of the last 24 hours' results that passed">
              Uptime 24 h
            </th>
            <th className="r">Last</th>
            <th className="r hide-narrow" title="Mean and slowest response of the last 24 hours">
              Mean / max
            </th>
            <th className="r">Checked</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={c.check} data-check={c.check}>
              <td>
                <strong>{c.check}</strong> <span className="faint">{[c.kind, c.group].filter(Boolean).join(" · ")}</span>
                {!c.ok && c.reason ? <div className="field-error">{c.reason}</div> : null}
              </td>
              <td>{c.ok ? <span className="chip chip-ok">passing</span> : <span className="chip chip-critical">failing</span>}</td>
              <td className="r num">{formatPercent(c.uptime_percent ?? null, c.uptime_percent != null && c.uptime_percent < 100 ? 2 : 0)}</td>
              <td className="r num nowrap">{formatMs(c.latency_ms)}</td>
              <td className="r num nowrap hide-narrow">
                {formatMs(c.latency_mean_ms ?? null)} / {formatMs(c.latency_max_ms ?? null)}
              </td>
              <td className="r muted nowrap">{formatAge(c.ts, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const SILENCE_DURATIONS = [
  [1800, "30 min"],
  [3600, "1 hour"],
  [4 * 3600, "4 hours"],
  [86400, "1 day"],
  [7 * 86400, "1 week"],
] as const;

function Silences({ host, isAdmin, now, rules }: { host: string; isAdmin: boolean; now: number; rules: Rule[] }) {
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

function History({ host, now }: { host: string; now: number }) {
  const { session } = useServices();
  const since = useMemo(() => Math.floor(Date.now() / 1000 - HISTORY_DAYS * 86400), []);
  const history = useResource(() => session.api.alerts({ host, since, limit: 200 }), [host, since], { ticks: true, kinds: ["alert"] });
  // Events heard live join the list at once (the reload after them may not see them yet).
  const [live, setLive] = useState<Alert[]>([]);
  useFeedEvents((e) => {
    if (e.kind === "alert" && e.host === host) setLive((l) => [...l.slice(-99), toAlert(e)]);
  });
  if (history.data === undefined) {
    return history.loading ? <Loading what="Loading alert history…" /> : <Failure error={history.error} what="Alert history" />;
  }
  const byId = new Map([...history.data, ...live].map((a) => [a.id, a]));
  const rows = [...byId.values()].sort((a, b) => b.ts - a.ts).slice(0, 100);
  if (rows.length === 0) return <Empty>No alert on this host in the last {HISTORY_DAYS} days.</Empty>;
  return (
    <div className="scroll-x">
      <table className="table">
        <thead>
          <tr>
            <th className="sev-bar" aria-label="Severity colour" />
            <th>When</th>
            <th>Alert</th>
            <th>Event</th>
            <th className="r">Lasted</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.id}>
              <td className={`sev-bar ${a.severity}`} />
              <td className="nowrap" title={formatAge(a.ts, now)}>
                {formatTime(a.ts, now)}
              </td>
              <td>
                <strong>{a.rule}</strong> {a.summary ? <span className="muted">{a.summary}</span> : null}
              </td>
              <td className="nowrap">
                {a.event}
                {a.acknowledged_by ? <span className="muted"> by {a.acknowledged_by}</span> : null}
              </td>
              <td className="r num nowrap">{a.resolved_at && a.started_at ? formatDuration(a.resolved_at - a.started_at) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function levels(r: Rule): string {
  // The alerter compares inclusively (engine.level_of).
  const op = r.op === "below" ? "≤" : "≥";
  const parts = [r.warning != null ? `warn ${op} ${formatNumber(r.warning)}` : "", r.critical != null ? `crit ${op} ${formatNumber(r.critical)}` : ""];
  return parts.filter(Boolean).join(", ") || r.kind;
}

function Rules({ rules, error, loading }: { rules: Rule[] | undefined; error: unknown; loading: boolean }) {
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

function Notifications({ now }: { now: number }) {
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

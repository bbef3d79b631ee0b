import { type FormEvent, useMemo, useState } from "react";
import { useServices } from "../../app/context";
import { useFeedEvents, useHostData, useNow, useResource, useSession } from "../../app/hooks";
import { applyAlertEvent, toAlert } from "../../api/normalize";
import type { Alert, ServiceStatus } from "../../api/types";
import { Empty, errorText, Failure, Loading, Panel } from "../../components/Panel";
import { formatAge, formatDuration, formatMs, formatNumber, formatPercent, formatTime } from "../../lib/format";
import { sortAlerts } from "../../lib/trends";
import { SeverityChip } from "../bits";
import { Notifications, Rules } from "./Rules";
import { Silences } from "./Silences";

const HISTORY_DAYS = 7;


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

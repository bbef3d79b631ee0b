// The analytics on a host's page: its health score and what costs points, recommendations
// with their evidence and capacity forecasts ("Insights"), and CPU and memory per component.
import { useServices } from "../../app/context";
import { useResource } from "../../app/hooks";
import type { HostHealth } from "../../api/types";
import { Empty, Failure, Loading, Panel } from "../../components/Panel";
import { formatBytes, formatPercent, formatTime } from "../../lib/format";
import { capacityText, evidenceText } from "../../lib/insights";
import { HealthBadge, HealthParts, SeverityChip } from "../bits";

const NOT_YET = "not available from this gateway yet";
const DAY = { kind: "relative", key: "24h" } as const;

export function HealthPanel({ health, unavailable }: { health: HostHealth | null; unavailable: boolean }) {
  return (
    <Panel
      title="Health"
      className="span-2"
      testId="card-health"
      flush={!!health}
      actions={health ? <HealthBadge health={health} /> : null}
      hint={health ? health.status : undefined}
    >
      {health ? (
        <HealthParts parts={health.parts} empty="Nothing costs this host points: every scored metric is within its band." />
      ) : (
        <Empty>{unavailable ? `Health scores are ${NOT_YET}.` : "No health score for this host yet."}</Empty>
      )}
    </Panel>
  );
}

export function InsightsPanel({ host }: { host: string }) {
  const { session } = useServices();
  const recs = useResource(() => session.api.recommendations(host), [host], { every: 60_000 });
  const analytics = useResource(() => session.api.analytics(host, DAY), [host], { every: 60_000 });
  const forecasts = (analytics.data?.capacity ?? []).map((c) => ({ c, text: capacityText(c) })).filter((f) => f.text !== null);

  let body;
  if (recs.notAvailable && analytics.notAvailable) {
    body = <Empty>Recommendations and capacity forecasts are {NOT_YET}.</Empty>;
  } else if (recs.data === undefined && analytics.data === undefined && (recs.loading || analytics.loading)) {
    body = <Loading what="Looking for recommendations…" />;
  } else {
    body = (
      <>
        {recs.data === undefined && recs.error && !recs.notAvailable ? <Failure error={recs.error} what="Recommendations" /> : null}
        {recs.data?.length === 0 ? <Empty>No recommendation: nothing in the last hour or day calls for action.</Empty> : null}
        {recs.data?.length ? (
          <ul className="insights" data-testid="recommendations">
            {recs.data.map((r) => (
              <li key={`${r.rule}:${r.title}`} className={`insight sev-${r.severity}`}>
                <div className="insight-head">
                  <SeverityChip severity={r.severity} />
                  <strong>{r.title}</strong>
                  {r.since ? <span className="faint">since {formatTime(r.since)}</span> : null}
                </div>
                <div>{r.action}</div>
                <details>
                  <summary className="muted">Evidence</summary>
                  <ul className="evidence">
                    {r.evidence.map((e, i) => (
                      <li key={i} className="mono">
                        {evidenceText(e)}
                      </li>
                    ))}
                  </ul>
                </details>
              </li>
            ))}
          </ul>
        ) : null}
        {forecasts.length ? (
          <div className="forecasts" data-testid="capacity">
            <div className="muted" style={{ margin: "4px 0" }}>
              Capacity
            </div>
            <dl className="kv">
              {forecasts.map(({ c, text }) => (
                <div key={c.series} style={{ display: "contents" }}>
                  <dt>{text?.what}</dt>
                  <dd className={text?.urgent ? "urgent" : undefined}>{text?.when}</dd>
                </div>
              ))}
            </dl>
          </div>
        ) : null}
      </>
    );
  }
  return (
    <Panel title="Insights" className="span-2" testId="card-insights" hint="recommendations and capacity, from the analytics">
      {body}
    </Panel>
  );
}

export function ComponentsPanel({ host }: { host: string }) {
  const { session } = useServices();
  const found = useResource(() => session.api.components(host), [host], { every: 30_000 });
  // Groups none of the seen processes fall in are left out.
  const components = (found.data?.components ?? []).filter((c) => c.processes > 0);
  let body;
  if (found.notAvailable) body = <Empty>CPU and memory per component are {NOT_YET}.</Empty>;
  else if (found.data === undefined) body = found.loading ? <Loading what="Loading components…" /> : <Failure error={found.error} what="Components" />;
  else if (components.length === 0) body = <Empty>This agent does not report its top processes, so components cannot be told apart.</Empty>;
  else {
    const coverage = found.data?.coverage;
    body = (
      <>
        <div className="scroll-x">
        <table className="table">
          <thead>
            <tr>
              <th>Component</th>
              <th className="r hide-narrow">Processes</th>
              <th className="r">CPU</th>
              <th className="r">Memory</th>
            </tr>
          </thead>
          <tbody>
            {components.map((c) => (
              <tr key={c.component}>
                <td>
                  <strong>{c.component}</strong>
                  <div className="faint">{c.names.join(", ")}</div>
                </td>
                <td className="r num hide-narrow">{c.processes}</td>
                <td className="r num" title={`${formatPercent(c.cpu_percent, 1)} of one core`}>
                  {formatPercent(c.host_cpu_share, 1)}
                </td>
                <td className="r num nowrap">
                  {formatBytes(c.rss)} <span className="faint">{formatPercent(c.memory_percent, 1)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
        {coverage ? (
          <p className="faint" style={{ margin: "8px 12px" }}>
            From the top {coverage.processes_seen} of {coverage.processes_total} processes, {formatPercent(coverage.cpu_seen_percent, 0)} of the CPU in use and{" "}
            {formatPercent(coverage.memory_seen_percent, 0)} of the memory.
          </p>
        ) : null}
      </>
    );
  }
  return (
    <Panel title="Components" className="span-all" testId="card-components" flush={components.length > 0}>
      {body}
    </Panel>
  );
}

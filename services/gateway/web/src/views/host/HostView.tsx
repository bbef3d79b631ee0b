import { useEffect } from "react";
import { useServices } from "../../app/context";
import { useHostData, useNow, useResource } from "../../app/hooks";
import { HOST_TABS, type HostTab, hostPath } from "../../app/router";
import { ApiError } from "../../api/http";
import { ErrorBoundary } from "../../components/ErrorBoundary";
import { Link } from "../../components/Link";
import { Failure, Loading } from "../../components/Panel";
import { hostStatus } from "../../lib/fleet";
import { formatAge } from "../../lib/format";
import { hostSubscription } from "../../live/connection";
import { HealthBadge, StatusBadge } from "../bits";
import { AlertsTab } from "./AlertsTab";
import { Overview } from "./Overview";
import { Trends } from "./Trends";

export function HostView({ host, tab }: { host: string; tab: HostTab }) {
  const { session, store, feed } = useServices();
  const now = useNow(2000);

  // Keep full-resolution series of this host while its page is open.
  useEffect(() => store.focus(host), [store, host]);
  useEffect(() => feed.setSubscription(hostSubscription(host)), [feed, host]);
  const first = useResource(async () => {
    const current = await session.api.current(host);
    if (current) {
      store.addSample(current.sample, true);
      for (const app of current.apps) store.addApp(app);
      for (const check of current.checks) store.addCheck(check);
    }
    return current;
  }, [host]);
  // The host's facts (OS, CPU model, labels) come with the host list.
  useResource(
    async () => {
      const entry = (await session.api.hosts()).find((h) => h.host === host);
      if (entry?.info) store.setInfo(entry.info, host);
      return entry ?? null;
    },
    [host],
    { every: 60_000 },
  );
  const health = useResource(() => session.api.health(host), [host], { ticks: true, every: 30_000 });
  const score = health.data?.hosts.find((h) => h.host === host) ?? null;
  const data = useHostData(host);
  const sample = data?.sample ?? null;

  if (!sample) {
    if (first.loading) return <div className="page"><Loading what={`Loading ${host}…`} /></div>;
    const unknown = first.error instanceof ApiError && first.error.status === 404 && !first.error.notAvailable;
    return (
      <div className="page">
        {unknown || (!first.error && first.data === null) ? (
          <div className="notice">
            No host named “{host}” has reported to this gateway. <Link to="/">Back to the fleet</Link>
          </div>
        ) : (
          <Failure error={first.error} what="This host" />
        )}
      </div>
    );
  }

  const status = hostStatus(sample.ts, now, null);
  const labels = Object.entries(data?.info?.labels ?? {});
  return (
    <div className="page" data-testid="host-view" data-host={host}>
      <div className="page-head">
        <div>
          <h1>{host}</h1>
          <div className="sub" style={{ display: "flex", gap: 12, alignItems: "center", flexWrap: "wrap" }}>
            <StatusBadge status={status} />
            <span>last sample {formatAge(sample.ts, now)}</span>
            {score ? (
              <span data-testid="host-health">
                health <HealthBadge health={score} />
              </span>
            ) : null}
            {labels.map(([k, v]) => (
              <span key={k} className="label-chip">
                {k}={v}
              </span>
            ))}
          </div>
        </div>
      </div>
      <nav className="tabs" role="tablist">
        {HOST_TABS.map((t) => (
          <Link key={t.id} to={hostPath(host, t.id)} role="tab" aria-current={t.id === tab ? "page" : undefined} aria-selected={t.id === tab}>
            {t.label}
          </Link>
        ))}
      </nav>
      <ErrorBoundary what="This tab">
        {tab === "overview" ? <Overview host={host} health={score} healthUnavailable={health.notAvailable} /> : null}
        {tab === "trends" ? <Trends host={host} /> : null}
        {tab === "alerts" ? <AlertsTab host={host} /> : null}
      </ErrorBoundary>
    </div>
  );
}

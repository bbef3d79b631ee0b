import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import { useServices } from "../app/context";
import { useNow, useResource, useStoreTick } from "../app/hooks";
import { hostPath, navigate } from "../app/router";
import { ApiError } from "../api/http";
import type { HostSummary } from "../api/types";
import { Failure, Loading, Panel } from "../components/Panel";
import { Link } from "../components/Link";
import { Sparkline } from "../components/Sparkline";
import { buildRows, type FleetRow, filterRows, type SortDir, type SortKey, sortRows, summarize } from "../lib/fleet";
import { formatAge, formatPercent } from "../lib/format";
import { seriesName } from "../lib/series";
import { FLEET_SUBSCRIPTION } from "../live/connection";
import { type FleetSeries, type HostStore } from "../live/store";
import { FleetHealthPanel, HealthBadge, SeverityChips, StatusBadge } from "./bits";

const SPAN_S = 3600;
const SEED_LIMIT = 50;
const COLORS = { cpu: "#3b7ddd", memory: "#8e6bd8", gpu: "#1fa39a" };

/** Fill the sparklines of the first hosts with the last hour, once, where history exists. */
function useSparkSeeds(store: HostStore, hosts: string[]): void {
  const { session } = useServices();
  const seeded = useRef(new Set<string>());
  const unavailable = useRef(false);
  const key = hosts.slice(0, SEED_LIMIT).join(",");
  useEffect(() => {
    let cancelled = false;
    const todo = key ? key.split(",").filter((h) => !seeded.current.has(h)) : [];
    void (async () => {
      for (const host of todo) {
        if (cancelled || unavailable.current) return;
        seeded.current.add(host);
        const gpus = store.get(host)?.summary?.gpus ?? [];
        const wanted: [FleetSeries, string][] = [
          ["cpu.percent", "cpu.percent"],
          ["memory.percent", "memory.percent"],
        ];
        // The sparkline follows the busiest GPU; its history, the first GPU's.
        if (gpus.length) wanted.push(["gpu.utilization", seriesName("gpu.utilization", { gpu: gpus[0].index })]);
        for (const [slot, metric] of wanted) {
          try {
            const history = await session.api.history(host, metric, { kind: "relative", key: "1h" }, 60);
            if (!cancelled) store.seedFleet(host, slot, history);
          } catch (err) {
            if (err instanceof ApiError && err.notAvailable) unavailable.current = true;
            break;
          }
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [key, session, store]);
}

const COLUMNS: { key: SortKey; label: string; className?: string }[] = [
  { key: "host", label: "Host" },
  { key: "status", label: "Status" },
  { key: "health", label: "Health" },
  { key: "alerts", label: "Alerts" },
  { key: "cpu", label: "CPU" },
  { key: "memory", label: "Memory" },
  { key: "gpu", label: "GPU" },
];

export function Fleet() {
  const { session, store, feed } = useServices();
  const now = useNow(2000);
  const tick = useStoreTick(1000);
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState<{ key: SortKey; dir: SortDir }>({ key: "status", dir: "asc" });

  useEffect(() => feed.setSubscription(FLEET_SUBSCRIPTION), [feed]);
  const hosts = useResource(
    async () => {
      const list = await session.api.hosts();
      for (const h of list) if (h.info) store.setInfo(h.info, h.host);
      return list;
    },
    [],
    { ticks: true, every: 30_000 },
  );
  const alerts = useResource(() => session.api.alerts(), [], { ticks: true, kinds: ["alert"] });
  const health = useResource(() => session.api.health(), [], { ticks: true, every: 30_000 });

  const rows = useMemo(() => {
    const summaries = new Map<string, HostSummary | null>();
    for (const name of store.names()) summaries.set(name, store.get(name)?.summary ?? null);
    return buildRows(hosts.data ?? [], summaries, alerts.data ?? null, health.data?.hosts ?? null, now);
    // `tick` stands for the store's changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hosts.data, alerts.data, health.data, now, tick, store]);
  const shown = useMemo(() => sortRows(filterRows(rows, query), sort.key, sort.dir), [rows, query, sort]);
  useSparkSeeds(
    store,
    shown.map((r) => r.host),
  );
  const summary = summarize(rows);
  const alertsKnown = alerts.data !== undefined;

  const toggleSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: key === "host" || key === "status" ? "asc" : "desc" }));

  let body;
  if (rows.length === 0 && (hosts.loading || (!hosts.error && feed.lastUpdate === 0))) {
    body = <Loading what="Loading the fleet…" />;
  } else if (rows.length === 0 && hosts.error) {
    body = <Failure error={hosts.error} what="The host list" />;
  } else if (rows.length === 0) {
    body = <div className="notice">No host has reported yet. Start an agent on a host and it appears here within a few seconds.</div>;
  } else if (shown.length === 0) {
    body = <div className="notice">No host matches “{query}”.</div>;
  } else {
    body = (
      <div className="scroll-x">
        <table className="table fleet-table" data-testid="fleet-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.key} aria-sort={sort.key === c.key ? (sort.dir === "asc" ? "ascending" : "descending") : undefined}>
                  <button type="button" onClick={() => toggleSort(c.key)}>
                    {c.label}
                    {sort.key === c.key ? (sort.dir === "asc" ? " ↑" : " ↓") : ""}
                  </button>
                </th>
              ))}
              <th className="r hide-narrow">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <FleetRowView key={row.host} row={row} store={store} now={now} alertsKnown={alertsKnown} />
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Fleet</h1>
          <div className="sub">Every host reporting to this gateway, with the last hour of CPU, memory and GPU.</div>
        </div>
      </div>
      <div className="stats" data-testid="fleet-summary">
        <Stat label="Health" value={<HealthBadge health={health.data?.fleet ?? null} unavailable={health.notAvailable} />} />
        <Stat label="Hosts" value={rows.length} />
        <Stat label="Up" value={summary.up} />
        <Stat label="Stale" value={summary.stale} />
        <Stat label="Down" value={summary.down} />
        <Stat label="Critical alerts" value={alertsKnown ? summary.alerts.critical : "—"} />
        <Stat label="Warnings" value={alertsKnown ? summary.alerts.warning : "—"} />
      </div>
      <Panel
        title="Hosts"
        hint={rows.length ? `${shown.length} of ${rows.length}` : undefined}
        flush
        testId="fleet"
        actions={
          alerts.notAvailable ? <span className="hint faint">Alert counts not available from this gateway</span> : null
        }
      >
        <div className="toolbar">
          <input
            className="input"
            type="search"
            placeholder="Filter: name, env=prod, status:down"
            aria-label="Filter hosts"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <select
            className="select"
            aria-label="Sort by"
            value={`${sort.key}:${sort.dir}`}
            onChange={(e) => {
              const [key, dir] = e.target.value.split(":") as [SortKey, SortDir];
              setSort({ key, dir });
            }}
          >
            <option value="status:asc">Problems first</option>
            <option value="host:asc">Name</option>
            <option value="alerts:desc">Most alerts</option>
            <option value="health:asc">Lowest health</option>
            <option value="cpu:desc">Busiest CPU</option>
            <option value="memory:desc">Most memory used</option>
            <option value="gpu:desc">Busiest GPU</option>
          </select>
        </div>
        {body}
      </Panel>
      {health.data?.fleet ? <FleetHealthPanel health={health.data} /> : null}
    </div>
  );
}

function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="stat">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}

function FleetRowView({ row, store, now, alertsKnown }: { row: FleetRow; store: HostStore; now: number; alertsKnown: boolean }) {
  const data = store.get(row.host);
  const spark = (name: FleetSeries) => data?.fleet[name].toSeries() ?? { ts: [], values: [] };
  const labels = Object.entries(row.labels);
  return (
    <tr className="clickable" data-host={row.host} onClick={() => navigate(hostPath(row.host))}>
      <td className="host-cell">
        <Link to={hostPath(row.host)} onClick={(e) => e.stopPropagation()}>
          <strong>{row.host}</strong>
        </Link>
        {labels.length ? (
          <div className="chips" style={{ marginTop: 3 }}>
            {labels.map(([k, v]) => (
              <span key={k} className="label-chip">
                {k}={v}
              </span>
            ))}
          </div>
        ) : row.os ? (
          <div className="faint">{row.os}</div>
        ) : null}
      </td>
      <td data-label="Status">
        <StatusBadge status={row.status} />
      </td>
      <td data-label="Health">
        <HealthBadge health={row.health} />
      </td>
      <td data-label="Alerts">{alertsKnown ? <SeverityChips counts={row.alerts} /> : <span className="faint">—</span>}</td>
      <td data-label="CPU">
        <div className="spark-cell">
          <Sparkline series={spark("cpu.percent")} span={SPAN_S} now={now} color={COLORS.cpu} label={`CPU of ${row.host}`} />
          <span className="v">{formatPercent(row.cpu)}</span>
        </div>
      </td>
      <td data-label="Memory">
        <div className="spark-cell">
          <Sparkline series={spark("memory.percent")} span={SPAN_S} now={now} color={COLORS.memory} label={`Memory of ${row.host}`} />
          <span className="v">{formatPercent(row.memory)}</span>
        </div>
      </td>
      <td data-label="GPU">
        {row.gpu === null ? (
          <span className="faint">no GPU</span>
        ) : (
          <div className="spark-cell">
            <Sparkline series={spark("gpu.utilization")} span={SPAN_S} now={now} color={COLORS.gpu} label={`GPU of ${row.host}`} />
            <span className="v">{formatPercent(row.gpu)}</span>
          </div>
        )}
      </td>
      <td className="r muted hide-narrow nowrap">{formatAge(row.lastSeen, now)}</td>
    </tr>
  );
}

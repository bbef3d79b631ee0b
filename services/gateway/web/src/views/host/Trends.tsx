import { useMemo, useState } from "react";
import { useServices } from "../../app/context";
import { useFeedEvents, useHostData, useResource } from "../../app/hooks";
import { flagsOf } from "../../api/normalize";
import type { Annotation, SeriesFlag } from "../../api/types";
import { Doughnut } from "../../components/Doughnut";
import { Empty, Failure, Panel } from "../../components/Panel";
import { type Flag, type Marker, TimeChart } from "../../components/TimeChart";
import { formatByteRate, formatBytes, formatCount, formatMs, formatPercent, formatTime } from "../../lib/format";
import { customRange, followsNow, RANGE_KEYS, rangeBounds, type TimeRange, toLocalInput } from "../../lib/time";
import { type ChartGroup, chartGroups, type Unit } from "../../lib/trends";
import { useTrend } from "./useTrend";

const FORMATS: Record<Unit, (v: number) => string> = {
  percent: (v) => formatPercent(v),
  bytes_rate: (v) => formatByteRate(v),
  count: (v) => formatCount(v),
  ms: (v) => formatMs(v),
};

export function Trends({ host }: { host: string }) {
  const { session } = useServices();
  const data = useHostData(host);
  const [range, setRange] = useState<TimeRange>({ kind: "relative", key: "1h" });
  const [resync, setResync] = useState(0);
  const [liveNotes, setLiveNotes] = useState<Annotation[]>([]);
  const sample = data?.sample ?? null;
  const apps = useMemo(() => [...(data?.apps.values() ?? [])].sort((a, b) => a.app.localeCompare(b.app)), [data?.apps.size]); // eslint-disable-line react-hooks/exhaustive-deps
  // Rebuild the chart list only when the host's shape changes (a disk mounted, a GPU seen).
  const shapeKey = sample ? `${(sample.disks ?? []).map((d) => d.mount)}|${(sample.net ?? []).map((n) => n.interface)}|${(sample.gpus ?? []).length}|${apps.map((a) => a.app)}` : "";
  const groups = useMemo(() => (sample ? chartGroups(sample, apps) : []), [shapeKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const rangeKey = JSON.stringify(range);
  const annotations = useResource(() => session.api.annotations(range, host), [host, rangeKey]);
  // Anomaly flags over the analytics range that covers the chart's (1 h, 24 h or 7 d).
  const analytics = useResource(() => session.api.analytics(host, range), [host, rangeKey], { every: 60_000 });
  const anomalies = useMemo(() => flagsOf(analytics.data ?? null), [analytics.data]);
  useFeedEvents((e) => {
    if (e.kind === "resync") setResync((n) => n + 1);
    if (e.kind === "annotation" && (!e.host || e.host === host)) setLiveNotes((notes) => [...notes.slice(-49), e]);
  });
  const markers: Marker[] = useMemo(
    () => [...(annotations.data ?? []), ...liveNotes].map((a) => ({ ts: a.ts, text: a.text })),
    [annotations.data, liveNotes],
  );
  if (!sample) return null;
  const chartProps = { host, range, resync, markers, anomalies };

  return (
    <div className="stack" data-testid="trends">
      <RangeBar range={range} onChange={setRange} />
      <div className="grid grid-2">
        {groups
          .filter((g) => g.id === "system" || g.id === "network")
          .map((g) => (
            <TrendPanel key={g.id} {...chartProps} group={g} wide={g.id === "system"} />
          ))}
        <Panel title="Memory" testId="memory-doughnut">
          <Doughnut
            title="Memory used and available"
            slices={[
              { label: "Used", value: sample.memory.used, color: "#8e6bd8", text: formatBytes(sample.memory.used) },
              { label: "Available", value: sample.memory.available, color: "var(--bar-track)", text: formatBytes(sample.memory.available) },
            ]}
          />
          <p className="muted" style={{ margin: "10px 0 0" }}>
            {formatBytes(sample.memory.total)} in total
            {sample.memory.cached ? `, ${formatBytes(sample.memory.cached)} of it cache` : ""}.
          </p>
        </Panel>
        {groups
          .filter((g) => g.id !== "system" && g.id !== "network")
          .map((g) => (
            <TrendPanel key={g.id} {...chartProps} group={g} wide={false} />
          ))}
        {!groups.some((g) => g.id === "gpu") ? (
          <Panel title="GPU">
            <Empty>No NVIDIA GPU on this host.</Empty>
          </Panel>
        ) : null}
        {!apps.length ? (
          <Panel title="Application metrics">
            <Empty>No application reports metrics from this host yet.</Empty>
          </Panel>
        ) : null}
      </div>
      <Panel title="Annotations" hint="Deployments and other events, drawn as ◆ on every chart" className="span-all" testId="annotations">
        {annotations.data === undefined && annotations.error ? (
          <Failure error={annotations.error} what="Annotations" />
        ) : markers.length === 0 ? (
          <Empty>No annotations in this range.</Empty>
        ) : (
          <div className="annotations" style={{ borderTop: 0, padding: 0 }}>
            {[...(annotations.data ?? []), ...liveNotes].slice(-20).map((a) => (
              <span key={a.id}>
                <span className="mark" />
                {formatTime(a.ts)} {a.text}
                {a.tags?.length ? <span className="faint"> ({a.tags.join(", ")})</span> : null}
              </span>
            ))}
          </div>
        )}
      </Panel>
    </div>
  );
}

function RangeBar({ range, onChange }: { range: TimeRange; onChange: (r: TimeRange) => void }) {
  const now = Date.now() / 1000;
  const [custom, setCustom] = useState(range.kind === "absolute");
  const [start, setStart] = useState(toLocalInput(now - 3 * 3600));
  const [end, setEnd] = useState(toLocalInput(now));
  const [error, setError] = useState("");
  const apply = () => {
    const r = customRange(start, end, Date.now() / 1000);
    if (typeof r === "string") setError(r);
    else {
      setError("");
      onChange(r);
    }
  };
  return (
    <div className="range-bar">
      <div className="seg" role="group" aria-label="Time range">
        {RANGE_KEYS.map((k) => (
          <button
            key={k}
            type="button"
            aria-pressed={!custom && range.kind === "relative" && range.key === k}
            onClick={() => {
              setCustom(false);
              onChange({ kind: "relative", key: k });
            }}
          >
            {k}
          </button>
        ))}
        <button type="button" aria-pressed={custom} onClick={() => setCustom(true)}>
          Custom
        </button>
      </div>
      {custom ? (
        <span className="custom">
          <input className="input" type="datetime-local" aria-label="Start" value={start} onChange={(e) => setStart(e.target.value)} />
          <span className="muted">to</span>
          <input className="input" type="datetime-local" aria-label="End" value={end} onChange={(e) => setEnd(e.target.value)} />
          <button type="button" className="btn" onClick={apply}>
            Apply
          </button>
          {error ? <span className="field-error">{error}</span> : null}
        </span>
      ) : (
        <span className="muted">Live: new points are added as they arrive.</span>
      )}
    </div>
  );
}

function TrendPanel(props: {
  host: string;
  group: ChartGroup;
  range: TimeRange;
  resync: number;
  markers: Marker[];
  anomalies: SeriesFlag[];
  wide: boolean;
}) {
  const { host, group, range, resync, markers, anomalies, wide } = props;
  const trend = useTrend(host, group, range, resync);
  const flags: Flag[] = useMemo(() => {
    const index = new Map(group.specs.map((s, i) => [s.series, i]));
    return anomalies
      .filter((a) => index.has(a.series))
      .map((a) => ({ ts: a.ts, value: a.value, series: index.get(a.series) ?? 0, text: `${a.value.toPrecision(3)}, expected about ${a.expected.toPrecision(3)}` }));
  }, [anomalies, group]);
  const first = trend.window.length ? trend.window.table[0][0] : null;
  const narrowed = followsNow(range) && first !== null && trend.xRange[0] > rangeBounds(range, trend.xRange[1])[0] + 1;
  const notes = [
    trend.mode === "loading" ? "loading history…" : trend.mode === "live-only" ? "live since this page opened" : "",
    narrowed && trend.mode === "history" && first !== null ? `data since ${formatTime(first)}` : "",
    flags.length ? `${flags.length} anomal${flags.length === 1 ? "y" : "ies"} flagged` : "",
  ].filter(Boolean);
  const hint = notes.length ? notes.join(" · ") : undefined;
  return (
    <Panel title={group.title} hint={hint} className={wide ? "span-all" : undefined} testId={`chart-${group.id}`}>
      {trend.mode === "live-only" ? (
        <div className="banner" data-testid="history-note">
          {trend.error ? (
            <>History could not be loaded ({String((trend.error as Error).message ?? trend.error)}); </>
          ) : (
            <>History is not available from this gateway; </>
          )}
          showing the points received since this page opened.
        </div>
      ) : null}
      {group.specs.length === 0 ? (
        <Empty>Nothing to chart for this host.</Empty>
      ) : (
        <TimeChart
          series={group.specs}
          data={trend.window.table}
          version={trend.version}
          height={wide ? 240 : 200}
          format={FORMATS[group.unit]}
          formatRight={group.rightUnit ? FORMATS[group.rightUnit] : undefined}
          max={group.unit === "percent" ? 100 : undefined}
          xRange={trend.xRange}
          markers={markers}
          flags={flags}
          emptyText={trend.mode === "loading" ? "Loading…" : "No data in this range yet"}
          testId={`chart-${group.id}-plot`}
        />
      )}
    </Panel>
  );
}

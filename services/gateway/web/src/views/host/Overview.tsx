import { useHostData, useNow } from "../../app/hooks";
import type { AppMetrics, HostHealth, HostInfo, MetricSample } from "../../api/types";
import { DemoBadge } from "../../components/DemoBadge";
import { Meter } from "../../components/Meter";
import { Empty, Panel } from "../../components/Panel";
import {
  formatAge,
  formatByteRate,
  formatBytes,
  formatCount,
  formatDuration,
  formatMhz,
  formatMs,
  formatNumber,
  formatPercent,
  formatRatio,
  formatRate,
} from "../../lib/format";
import { isVirtualInterface } from "../../lib/series";
import { level } from "../../lib/shapes";
import { IMAGE_FSTYPES } from "../../lib/trends";
import { ComponentsPanel, HealthPanel, InsightsPanel } from "./Insights";

export function Overview({ host, health, healthUnavailable }: { host: string; health: HostHealth | null; healthUnavailable: boolean }) {
  const data = useHostData(host);
  const now = useNow(5000);
  const sample = data?.sample;
  if (!sample) return null;
  const apps = [...(data?.apps.values() ?? [])].sort((a, b) => a.app.localeCompare(b.app));
  return (
    <div className="grid grid-4" data-testid="overview">
      <Panel title="CPU" className="span-2" testId="card-cpu" hint={sample.cpu.count ? `${sample.cpu.count} cores` : undefined}>
        <CpuCard sample={sample} />
      </Panel>
      <Panel title="Memory" className="span-2" testId="card-memory">
        <MemoryCard sample={sample} />
      </Panel>
      <Panel title="Disks" className="span-2" testId="card-disks">
        <DisksCard sample={sample} />
      </Panel>
      <Panel title="Network" className="span-2" testId="card-network">
        <NetworkCard sample={sample} />
      </Panel>
      <Panel title="GPU" className="span-2" testId="card-gpu">
        <GpuCard sample={sample} />
      </Panel>
      <Panel title="System" className="span-2" testId="card-system">
        <SystemCard sample={sample} info={data?.info ?? null} now={now} />
      </Panel>
      <HealthPanel health={health} unavailable={healthUnavailable} />
      <InsightsPanel host={host} />
      <Panel title="Application metrics" className="span-all" testId="card-apps" flush={apps.length > 0}>
        <AppsCard apps={apps} />
      </Panel>
      <ComponentsPanel host={host} />
      <Panel title="Top processes" className="span-all" testId="card-processes" flush={!!sample.processes?.top_cpu?.length}>
        <ProcessesCard sample={sample} />
      </Panel>
    </div>
  );
}

function CpuCard({ sample }: { sample: MetricSample }) {
  const cpu = sample.cpu;
  const cores = cpu.cores ?? [];
  return (
    <>
      <div className="split">
        <div className="big" data-testid="cpu-percent">
          {formatPercent(cpu.percent, 1)}
          <small>used</small>
        </div>
        <dl className="kv" style={{ minWidth: 220, flex: 1, maxWidth: 320 }}>
          <dt>Load 1 / 5 / 15 min</dt>
          <dd>
            {cpu.load1 != null ? `${formatNumber(cpu.load1)} / ${formatNumber(cpu.load5)} / ${formatNumber(cpu.load15)}` : "—"}
          </dd>
          <dt>Frequency</dt>
          <dd>{formatMhz(cpu.freq_mhz)}</dd>
          <dt>User / system / iowait</dt>
          <dd>
            {formatPercent(cpu.user ?? null)} / {formatPercent(cpu.system ?? null)} / {formatPercent(cpu.iowait ?? null)}
          </dd>
        </dl>
      </div>
      <div style={{ marginTop: 10 }}>
        <Meter percent={cpu.percent} label="CPU used" />
      </div>
      {cores.length ? (
        <>
          <div className="cores" data-testid="cpu-cores" aria-label="Per-core usage">
            {cores.map((c, i) => (
              <div key={i} className={`core ${level(c.percent)}`} title={`core ${i}: ${formatPercent(c.percent, 1)}`}>
                <span style={{ height: `${Math.max(1, Math.min(100, c.percent))}%` }} />
              </div>
            ))}
          </div>
          <div className="cores-axis">
            <span>core 0</span>
            <span>core {cores.length - 1}</span>
          </div>
        </>
      ) : (
        <p className="faint" style={{ margin: "10px 0 0" }}>This agent does not report per-core usage.</p>
      )}
    </>
  );
}

function MemoryCard({ sample }: { sample: MetricSample }) {
  const m = sample.memory;
  const swap = sample.swap;
  return (
    <>
      <div className="split">
        <div className="big">
          {formatPercent(m.percent, 1)}
          <small>used</small>
        </div>
        <div className="muted num">
          {formatBytes(m.used)} of {formatBytes(m.total)}
        </div>
      </div>
      <div style={{ margin: "10px 0 12px" }}>
        <Meter percent={m.percent} warn={85} crit={95} label="Memory used" />
      </div>
      <dl className="kv">
        <dt>Available</dt>
        <dd>{formatBytes(m.available)}</dd>
        <dt>Cached</dt>
        <dd>{m.cached ? formatBytes(m.cached) : "—"}</dd>
        <dt>Swap</dt>
        <dd>{swap && swap.total ? `${formatBytes(swap.used)} of ${formatBytes(swap.total)} (${formatPercent(swap.percent)})` : "none"}</dd>
        {swap && (swap.in_per_s || swap.out_per_s) ? (
          <>
            <dt>Swap in / out</dt>
            <dd>
              {formatByteRate(swap.in_per_s)} / {formatByteRate(swap.out_per_s)}
            </dd>
          </>
        ) : null}
      </dl>
    </>
  );
}

function DisksCard({ sample }: { sample: MetricSample }) {
  const disks = sample.disks ?? [];
  const io = sample.disk_io ?? [];
  if (disks.length === 0) return <Empty>This agent reports no mounted disks.</Empty>;
  return (
    <>
      {disks.map((d) => {
        // A read-only image is always full: shown, but not as a problem.
        const image = IMAGE_FSTYPES.has(d.fstype ?? "");
        return (
          <div className={`meter-row${image ? " image" : ""}`} key={d.mount} title={`${d.device} (${d.fstype})`}>
            <span className="name mono">{d.mount}</span>
            <Meter percent={d.percent} warn={image ? 101 : 80} crit={image ? 101 : 90} label={`Disk ${d.mount}`} />
            <span className="val">{image ? `read-only ${d.fstype}` : `${formatPercent(d.percent)} · ${formatBytes(d.free)} free`}</span>
          </div>
        );
      })}
      {io.length ? (
        <table className="table" style={{ marginTop: 8 }}>
          <thead>
            <tr>
              <th>Device</th>
              <th className="r">Read</th>
              <th className="r">Write</th>
              <th className="r">Busy</th>
            </tr>
          </thead>
          <tbody>
            {io.slice(0, 6).map((d) => (
              <tr key={d.device}>
                <td className="mono">{d.device}</td>
                <td className="r num">{formatByteRate(d.read_bytes_per_s)}</td>
                <td className="r num">{formatByteRate(d.write_bytes_per_s)}</td>
                <td className="r num">{formatPercent(d.busy_percent ?? null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function NetworkCard({ sample }: { sample: MetricSample }) {
  const all = sample.net ?? [];
  if (all.length === 0) return <Empty>This agent reports no network interfaces.</Empty>;
  const real = all.filter((n) => !isVirtualInterface(n.interface));
  const shown = real.length ? real : all;
  const rx = shown.reduce((s, n) => s + n.rx_bytes_per_s, 0);
  const tx = shown.reduce((s, n) => s + n.tx_bytes_per_s, 0);
  const conns = Object.entries(sample.connections ?? {});
  return (
    <>
      <div className="split" style={{ marginBottom: 10 }}>
        <div>
          <div className="muted">Receive</div>
          <div className="big" data-testid="net-rx">{formatByteRate(rx)}</div>
        </div>
        <div style={{ textAlign: "right" }}>
          <div className="muted">Transmit</div>
          <div className="big">{formatByteRate(tx)}</div>
        </div>
      </div>
      <div className="rxtx">
        <span className="h">Interface</span>
        <span className="h r">RX</span>
        <span className="h r">TX</span>
        {shown.map((n) => (
          <Row3 key={n.interface} a={n.interface} b={formatByteRate(n.rx_bytes_per_s)} c={formatByteRate(n.tx_bytes_per_s)} />
        ))}
      </div>
      {conns.length ? (
        <p className="muted" style={{ margin: "10px 0 0" }}>
          Connections: {conns.map(([state, n]) => `${formatCount(n)} ${state.toLowerCase()}`).join(", ")}
        </p>
      ) : null}
      {real.length && real.length < all.length ? (
        <p className="faint" style={{ margin: "6px 0 0" }}>{all.length - real.length} virtual interfaces (loopback and the like) not shown.</p>
      ) : null}
    </>
  );
}

function Row3({ a, b, c }: { a: string; b: string; c: string }) {
  return (
    <>
      <span className="mono">{a}</span>
      <span className="num" style={{ textAlign: "right" }}>{b}</span>
      <span className="num" style={{ textAlign: "right" }}>{c}</span>
    </>
  );
}

function GpuCard({ sample }: { sample: MetricSample }) {
  const gpus = sample.gpus ?? [];
  if (gpus.length === 0) return <Empty>No NVIDIA GPU on this host.</Empty>;
  return (
    <div className="stack">
      {gpus.map((g) => (
        <div key={g.index} data-testid="gpu">
          <div className="split">
            <strong>
              GPU {g.index} · {g.name}
            </strong>
            <span className="muted num">
              {g.temperature != null ? `${Math.round(g.temperature)} °C` : ""}
              {g.power_w != null ? ` · ${Math.round(g.power_w)} W${g.power_limit_w ? ` of ${Math.round(g.power_limit_w)} W` : ""}` : ""}
            </span>
          </div>
          <div className="meter-row">
            <span className="name">Utilization</span>
            <Meter percent={g.utilization ?? 0} warn={101} crit={101} label={`GPU ${g.index} utilization`} />
            <span className="val">{formatPercent(g.utilization ?? 0)}</span>
          </div>
          <div className="meter-row">
            <span className="name">Memory</span>
            <Meter percent={g.memory_percent ?? 0} warn={85} crit={95} label={`GPU ${g.index} memory`} />
            <span className="val">
              {formatBytes(g.memory_used ?? 0)} / {formatBytes(g.memory_total ?? 0)}
            </span>
          </div>
          {g.processes?.length ? (
            <p className="muted" style={{ margin: "4px 0 0" }}>
              {g.processes.map((p) => `${p.name || p.pid} (${formatBytes(p.used_memory ?? 0)})`).join(", ")}
            </p>
          ) : null}
        </div>
      ))}
    </div>
  );
}

function SystemCard({ sample, info, now }: { sample: MetricSample; info: HostInfo | null; now: number }) {
  const uptime = sample.uptime_s ?? (info?.boot_time ? now - info.boot_time : null);
  return (
    <dl className="kv">
      <dt>Host</dt>
      <dd>{sample.host}</dd>
      <dt>Uptime</dt>
      <dd>{formatDuration(uptime)}</dd>
      <dt>Operating system</dt>
      <dd title={info?.kernel}>{info?.os || "—"}</dd>
      <dt>Kernel</dt>
      <dd>{info?.kernel || "—"}</dd>
      <dt>CPU model</dt>
      <dd title={info?.cpu_model}>{info?.cpu_model || "—"}</dd>
      <dt>CPU cores</dt>
      <dd>{info?.cpu_count || sample.cpu.count || "—"}</dd>
      <dt>Processes</dt>
      <dd>{sample.processes?.total ? formatCount(sample.processes.total) : "—"}</dd>
      <dt>Agent</dt>
      <dd>
        {info?.agent_version ? `v${info.agent_version}, ` : ""}every {formatDuration(sample.interval)}
      </dd>
      <dt>Last sample</dt>
      <dd>
        {formatAge(sample.ts, now)}
        {sample.dropped ? ` (${sample.dropped} dropped by the agent)` : ""}
      </dd>
    </dl>
  );
}

function AppsCard({ apps }: { apps: AppMetrics[] }) {
  if (apps.length === 0) {
    return (
      <Empty>
        No application reports metrics from this host yet. Applications report through the client library or a Prometheus
        page the agent scrapes.
      </Empty>
    );
  }
  return (
    <div className="scroll-x">
      <table className="table">
        <thead>
          <tr>
            <th>Application</th>
            <th className="r">Active jobs</th>
            <th className="r">Queue</th>
            <th className="r">Throughput</th>
            <th className="r">Error rate</th>
            <th className="r">Response p50</th>
            <th className="r">Response p95</th>
            <th className="r">Completed / failed</th>
          </tr>
        </thead>
        <tbody>
          {apps.map((a) => (
            <tr key={a.app}>
              <td>
                <strong>{a.app}</strong>
                <DemoBadge app={a.app} />
              </td>
              <td className="r num">{formatCount(a.jobs_active ?? 0)}</td>
              <td className="r num">{formatCount(a.queue_size ?? 0)}</td>
              <td className="r num">{formatRate(a.throughput_per_s ?? 0)}</td>
              <td className="r num">{formatRatio(a.error_rate ?? 0)}</td>
              <td className="r num">{a.response_ms?.count ? formatMs(a.response_ms.p50) : "—"}</td>
              <td className="r num">{a.response_ms?.count ? formatMs(a.response_ms.p95) : "—"}</td>
              <td className="r num">
                {formatCount(a.jobs_completed ?? 0)} / {formatCount(a.jobs_failed ?? 0)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ProcessesCard({ sample }: { sample: MetricSample }) {
  const top = sample.processes?.top_cpu ?? [];
  if (top.length === 0) return <Empty>This agent does not report its top processes.</Empty>;
  return (
    <div className="scroll-x">
      <table className="table">
        <thead>
          <tr>
            <th>PID</th>
            <th>Name</th>
            <th>User</th>
            <th className="r">CPU</th>
            <th className="r">Memory</th>
            <th className="hide-narrow">Command</th>
          </tr>
        </thead>
        <tbody>
          {top.slice(0, 8).map((p) => (
            <tr key={p.pid}>
              <td className="num">{p.pid}</td>
              <td>{p.name}</td>
              <td className="muted">{p.user || "—"}</td>
              <td className="r num">{formatPercent(p.cpu_percent ?? 0, 1)}</td>
              <td className="r num">{formatBytes(p.rss ?? 0)}</td>
              <td className="mono muted hide-narrow" style={{ maxWidth: 420, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
                {p.cmdline || ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

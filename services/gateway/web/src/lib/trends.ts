// Which charts a host gets on its trends tab, and how one sample becomes a row of each.
import type { Alert, AppMetrics, MetricSample, Silence } from "../api/types";
import { appPoints, isVirtualInterface, samplePoints, seriesName } from "./series";
import { isDemoApp } from "./demo";

export type Unit = "percent" | "bytes_rate" | "count" | "ms";

export interface TrendSpec {
  series: string;
  label: string;
  color: string;
  right?: boolean;
}

export interface ChartGroup {
  id: string;
  title: string;
  unit: Unit;
  rightUnit?: Unit;
  specs: TrendSpec[];
  /** Where live rows come from: the host sample, or one application's metrics. */
  app?: string;
}

export const PALETTE = ["#3b7ddd", "#8e6bd8", "#1fa39a", "#d9962b", "#d95b7f", "#4c9f38", "#6b7a90", "#c0692e"];

const MAX_MOUNTS = 4;
const MAX_INTERFACES = 2;
const MAX_GPUS = 2;

/** Interfaces to chart: the real ones (loopback only when there is nothing else). */
export function chartInterfaces(sample: MetricSample): string[] {
  const all = (sample.net ?? []).map((n) => n.interface);
  const real = all.filter((i) => !isVirtualInterface(i));
  return (real.length ? real : all).slice(0, MAX_INTERFACES);
}

/** Read-only image file systems are always full: not capacity (as the analytics judge). */
export const IMAGE_FSTYPES = new Set(["squashfs", "iso9660", "udf", "erofs", "cramfs"]);

export function chartGroups(sample: MetricSample, apps: AppMetrics[]): ChartGroup[] {
  const groups: ChartGroup[] = [];
  const mounts = (sample.disks ?? []).filter((d) => !IMAGE_FSTYPES.has(d.fstype ?? "")).slice(0, MAX_MOUNTS);
  groups.push({
    id: "system",
    title: "CPU, memory and disk",
    unit: "percent",
    specs: [
      { series: "cpu.percent", label: "CPU", color: PALETTE[0] },
      { series: "memory.percent", label: "Memory", color: PALETTE[1] },
      ...mounts.map((d, i) => ({
        series: seriesName("disk.percent", { mount: d.mount }),
        label: `Disk ${d.mount}`,
        color: PALETTE[(i + 2) % PALETTE.length],
      })),
    ],
  });
  const interfaces = chartInterfaces(sample);
  groups.push({
    id: "network",
    title: "Network",
    unit: "bytes_rate",
    specs: interfaces.flatMap((iface, i) => [
      { series: seriesName("net.rx_bytes_per_s", { interface: iface }), label: `${iface} RX`, color: PALETTE[(2 * i) % PALETTE.length] },
      { series: seriesName("net.tx_bytes_per_s", { interface: iface }), label: `${iface} TX`, color: PALETTE[(2 * i + 3) % PALETTE.length] },
    ]),
  });
  const gpus = (sample.gpus ?? []).slice(0, MAX_GPUS);
  if (gpus.length) {
    groups.push({
      id: "gpu",
      title: "GPU",
      unit: "percent",
      specs: gpus.flatMap((g, i) => {
        const name = gpus.length > 1 ? `GPU ${g.index}` : "GPU";
        return [
          { series: seriesName("gpu.utilization", { gpu: g.index }), label: `${name} utilization`, color: PALETTE[(2 * i + 2) % PALETTE.length] },
          { series: seriesName("gpu.memory_percent", { gpu: g.index }), label: `${name} memory`, color: PALETTE[(2 * i + 1) % PALETTE.length] },
        ];
      }),
    });
  }
  for (const a of apps) {
    const labels = { app: a.app };
    groups.push({
      id: `app:${a.app}`,
      title: `Application: ${a.app}${isDemoApp(a.app) ? " (demo)" : ""}`,
      unit: "count",
      rightUnit: "ms",
      app: a.app,
      specs: [
        { series: seriesName("app.jobs_active", labels), label: "Active jobs", color: PALETTE[0] },
        { series: seriesName("app.queue_size", labels), label: "Queue", color: PALETTE[3] },
        { series: seriesName("app.throughput_per_s", labels), label: "Throughput /s", color: PALETTE[2] },
        { series: seriesName("app.response_ms.p95", labels), label: "Response p95", color: PALETTE[4], right: true },
      ],
    });
  }
  return groups;
}

/** One chart row from a sample (or an app's metrics): the value of each spec, or null. */
export function rowOf(specs: TrendSpec[], source: MetricSample | AppMetrics): (number | null)[] {
  const points = new Map(source.kind === "app" ? appPoints(source) : samplePoints(source));
  return specs.map((s) => points.get(s.series) ?? null);
}

/** Whether a silence's matchers can match alerts of this host. */
export function silenceApplies(silence: Silence, host: string): boolean {
  return silence.matchers.every((m) => {
    if (m.name !== "host") return true;
    switch (m.op) {
      case "=":
        return m.value === host;
      case "!=":
        return m.value !== host;
      case "=~":
      case "!~":
        try {
          const hit = new RegExp(`^(?:${m.value})$`).test(host);
          return m.op === "=~" ? hit : !hit;
        } catch {
          return true;
        }
      default:
        return true;
    }
  });
}

/** Active alerts first by severity (critical first), then the oldest first. */
export function sortAlerts(alerts: Alert[]): Alert[] {
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return [...alerts].sort((a, b) => rank[a.severity] - rank[b.severity] || (a.started_at ?? a.ts) - (b.started_at ?? b.ts));
}

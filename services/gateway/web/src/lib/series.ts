// Series names as the gateway, the alerter and the analytics speak them
// (libs/core/src/vitals_core/series.py): `family.metric{label=value,...}`.
import type { AppMetrics, MetricSample } from "../api/events";

export type Point = [name: string, value: number];

export function seriesName(name: string, labels: Record<string, string | number> = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}=${labels[k]}`).join(",")}}`;
}

export function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  if (!series.endsWith("}") || !series.includes("{")) return { name: series, labels: {} };
  const open = series.indexOf("{");
  const labels: Record<string, string> = {};
  for (const part of series.slice(open + 1, -1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) labels[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { name: series.slice(0, open), labels };
}

export function family(series: string): string {
  return series.split(".", 1)[0];
}

/** Interfaces that carry no traffic worth charting: loopback and kernel helpers. */
export function isVirtualInterface(name: string): boolean {
  return name === "lo" || /^(ifb|veth|docker|br-|virbr|cni|flannel|tun|tap)/.test(name);
}

/** The series the dashboard charts from one host sample (a subset of series.py's). */
export function samplePoints(s: MetricSample): Point[] {
  const out: Point[] = [
    ["cpu.percent", s.cpu.percent],
    ["memory.percent", s.memory.percent],
    ["memory.used", s.memory.used],
    ["memory.available", s.memory.available],
  ];
  if (s.cpu.load1 != null) out.push(["cpu.load1", s.cpu.load1]);
  if (s.swap) out.push(["swap.percent", s.swap.percent ?? 0]);
  for (const d of s.disks ?? []) out.push([seriesName("disk.percent", { mount: d.mount }), d.percent]);
  for (const io of s.disk_io ?? []) {
    out.push([seriesName("diskio.read_bytes_per_s", { device: io.device }), io.read_bytes_per_s]);
    out.push([seriesName("diskio.write_bytes_per_s", { device: io.device }), io.write_bytes_per_s]);
  }
  for (const n of s.net ?? []) {
    const labels = { interface: n.interface };
    out.push([seriesName("net.rx_bytes_per_s", labels), n.rx_bytes_per_s]);
    out.push([seriesName("net.tx_bytes_per_s", labels), n.tx_bytes_per_s]);
  }
  for (const g of s.gpus ?? []) {
    const labels = { gpu: g.index };
    out.push([seriesName("gpu.utilization", labels), g.utilization ?? 0]);
    out.push([seriesName("gpu.memory_percent", labels), g.memory_percent ?? 0]);
    if (g.temperature != null) out.push([seriesName("gpu.temperature", labels), g.temperature]);
    if (g.power_w != null) out.push([seriesName("gpu.power_w", labels), g.power_w]);
  }
  return out;
}

export function appPoints(a: AppMetrics): Point[] {
  const labels = { app: a.app };
  const out: Point[] = [
    [seriesName("app.jobs_active", labels), a.jobs_active ?? 0],
    [seriesName("app.queue_size", labels), a.queue_size ?? 0],
    [seriesName("app.error_rate", labels), a.error_rate ?? 0],
    [seriesName("app.throughput_per_s", labels), a.throughput_per_s ?? 0],
  ];
  if (a.response_ms && (a.response_ms.count ?? 0) > 0) {
    out.push([seriesName("app.response_ms.p50", labels), a.response_ms.p50 ?? 0]);
    out.push([seriesName("app.response_ms.p95", labels), a.response_ms.p95 ?? 0]);
  }
  return out;
}

// A host's fleet summary (the gateway's `HostSummary`, vitals_gateway.ingest.telemetry.summarize)
// from a metrics event, so live samples and the fleet answer read the same.
import type { HostSummary, MetricSample } from "../api/types";

/**
 * The summary of `sample`. The fleet's live stream trims events to the families it asked
 * for (cpu, memory, gpus): what a trimmed event lacks is kept from `previous`.
 */
export function summarize(sample: MetricSample, previous: HostSummary | null = null): HostSummary {
  const has = (family: keyof MetricSample) => family in sample;
  const net = sample.net ?? [];
  const temperatures = sample.temperatures ?? [];
  return {
    ts: sample.ts,
    interval: sample.interval,
    cpu: { percent: sample.cpu.percent, load1: sample.cpu.load1 ?? null, count: sample.cpu.count ?? 0 },
    memory: { percent: sample.memory.percent, used: sample.memory.used, total: sample.memory.total },
    disks: has("disks") ? (sample.disks ?? []).map((d) => ({ mount: d.mount, percent: d.percent })) : previous?.disks,
    net: has("net")
      ? net.length
        ? { rx_bytes_per_s: net.reduce((s, n) => s + n.rx_bytes_per_s, 0), tx_bytes_per_s: net.reduce((s, n) => s + n.tx_bytes_per_s, 0) }
        : null
      : previous?.net,
    gpus: has("gpus")
      ? (sample.gpus ?? []).map((g) => ({ index: g.index, utilization: g.utilization ?? 0, memory_percent: g.memory_percent ?? 0, temperature: g.temperature ?? null }))
      : previous?.gpus,
    swap_percent: has("swap") ? (sample.swap?.percent ?? null) : previous?.swap_percent,
    temperature: has("temperatures") ? (temperatures.length ? Math.max(...temperatures.map((t) => t.celsius)) : null) : previous?.temperature,
    uptime_s: has("uptime_s") ? (sample.uptime_s ?? null) : previous?.uptime_s,
  };
}

/** The busiest GPU's utilization, or null for a host without GPUs. */
export function busiestGpu(summary: HostSummary | null): number | null {
  const gpus = summary?.gpus ?? [];
  return gpus.length ? Math.max(...gpus.map((g) => g.utilization)) : null;
}

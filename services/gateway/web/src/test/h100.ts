// The recorded H100 host (tests/fixtures/gpu-host-h100 at the repository's root) as the
// MetricSample its agent would publish.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { MetricSample } from "../api/types";

const FIXTURES = fileURLToPath(new URL("../../../../../tests/fixtures/gpu-host-h100/", import.meta.url));

interface Recording {
  gpus: { name: string; uuid: string; utilization: { gpu: number; memory: number }; memory: { total: number; used: number }; temperature: number; power_mw: number; power_limit_mw: number }[];
  psutil: {
    cpu_count: number[];
    cpu_percent_percpu: number[];
    cpu_freq_percpu: { current: number }[];
    loadavg: number[];
    vm: { total: number; available: number; used: number; percent: number; cached: number };
    net_pernic_keys: string[];
    partitions: { device: string; mountpoint: string; fstype: string }[];
    process_count: number;
  };
}

export function h100Recording(which: "idle" | "loaded" = "loaded"): Recording {
  return JSON.parse(readFileSync(`${FIXTURES}nvml-psutil-${which}.json`, "utf8")) as Recording;
}

/** The loaded recording as a sample; rates the recording lacks (network) are zero. */
export function h100Sample(ts = 1_700_000_000, which: "idle" | "loaded" = "loaded"): MetricSample {
  const r = h100Recording(which);
  const p = r.psutil;
  const cores = p.cpu_percent_percpu.map((percent) => ({ percent }));
  return {
    kind: "metrics",
    v: 1,
    ts,
    host: "gpu-host-h100",
    seq: 1,
    interval: 1,
    cpu: {
      percent: cores.reduce((s, c) => s + c.percent, 0) / cores.length,
      cores,
      count: p.cpu_count[0],
      freq_mhz: p.cpu_freq_percpu[0].current,
      load1: p.loadavg[0],
      load5: p.loadavg[1],
      load15: p.loadavg[2],
    },
    memory: { total: p.vm.total, used: p.vm.used, available: p.vm.available, percent: p.vm.percent, cached: p.vm.cached },
    net: p.net_pernic_keys.map((iface) => ({ interface: iface, rx_bytes_per_s: 0, tx_bytes_per_s: 0 })),
    gpus: r.gpus.map((g, index) => ({
      index,
      name: g.name,
      uuid: g.uuid,
      utilization: g.utilization.gpu,
      memory_utilization: g.utilization.memory,
      memory_used: g.memory.used,
      memory_total: g.memory.total,
      memory_percent: (g.memory.used / g.memory.total) * 100,
      temperature: g.temperature,
      power_w: g.power_mw / 1000,
      power_limit_w: g.power_limit_mw / 1000,
    })),
    processes: { total: p.process_count },
  };
}

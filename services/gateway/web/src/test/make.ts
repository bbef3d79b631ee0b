// Small builders for table tests of pure logic.
import type { Alert, HostEntry, HostSummary, MetricSample } from "../api/types";
import type { FleetRow } from "../lib/fleet";
import { emptyCounts } from "../lib/fleet";

export function sample(host: string, ts: number, cpu = 10, memory = 20, gpus: number[] = []): MetricSample {
  return {
    kind: "metrics",
    host,
    ts,
    seq: 1,
    interval: 1,
    cpu: { percent: cpu },
    memory: { total: 100, used: memory, available: 100 - memory, percent: memory },
    gpus: gpus.map((utilization, index) => ({ index, name: `gpu${index}`, utilization, memory_percent: 5 })),
  };
}

export function summary(ts: number, cpu = 10, memory = 20, gpus: number[] = []): HostSummary {
  return {
    ts,
    interval: 1,
    cpu: { percent: cpu },
    memory: { percent: memory, used: memory, total: 100 },
    gpus: gpus.map((utilization, index) => ({ index, utilization, memory_percent: 5 })),
  };
}

export function alert(over: Partial<Alert> & Pick<Alert, "alert_id">): Alert {
  return {
    kind: "alert",
    id: `${over.alert_id}-e`,
    event: "firing",
    rule: "cpu_high",
    host: "h1",
    severity: "warning",
    ts: 100,
    started_at: 100,
    state: "firing",
    ...over,
  };
}

export function entry(host: string, over: Partial<HostEntry> = {}): HostEntry {
  return { host, lastSeen: 1000, status: "up", alerts: 0, labels: {}, info: null, ...over };
}

export function row(host: string, over: Partial<FleetRow> = {}): FleetRow {
  return {
    host,
    status: "up",
    lastSeen: 1000,
    labels: {},
    health: null,
    alerts: emptyCounts(),
    cpu: null,
    memory: null,
    gpu: null,
    os: "",
    ...over,
  };
}

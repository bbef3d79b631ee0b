// How the health score's parts (vitals_core.analytics.health) read for a person.
import type { ScorePart } from "../api/types";
import { formatByteRate, formatDuration, formatNumber, formatPercent } from "./format";
import { parseSeries } from "./series";

export type HealthGrade = "healthy" | "degraded" | "critical" | "unknown";

/** The analytics' own bands: healthy from 85, degraded from 60 (health.status_of). */
export function gradeOf(score: number | null, status?: string): HealthGrade {
  if (status === "healthy" || status === "degraded" || status === "critical" || status === "unknown") return status;
  if (score === null) return "unknown";
  if (score >= 85) return "healthy";
  return score >= 60 ? "degraded" : "critical";
}

const METRIC_LABELS: Record<string, string> = {
  "cpu.percent": "CPU",
  "cpu.load1_per_core": "Load per core",
  "memory.percent": "Memory",
  "swap.in_per_s": "Swapping in",
  "disk.percent": "Disk",
  "gpu.memory_percent": "GPU memory",
  "gpu.temperature": "GPU temperature",
};

/** What a part is about, in words: "Disk /data", "GPU 0 memory", "Last sample". */
export function partLabel(part: ScorePart): string {
  switch (part.kind) {
    case "metric": {
      const { name, labels } = parseSeries(part.name);
      const base = METRIC_LABELS[name] ?? name;
      if (labels.mount) return `${base} ${labels.mount}`;
      if (labels.gpu !== undefined) return base.replace("GPU", `GPU ${labels.gpu}`);
      return base;
    }
    case "staleness":
      return "Last sample";
    case "alert":
      return `Alert ${part.name}`;
    case "group":
      return `Checks: ${part.name}`;
    default:
      return part.name;
  }
}

/** The value a part saw, in its unit. */
export function partValue(part: ScorePart): string {
  const v = part.value;
  if (v == null) return "";
  switch (part.kind) {
    case "metric": {
      const name = parseSeries(part.name).name;
      if (name === "swap.in_per_s") return formatByteRate(v);
      if (name === "gpu.temperature") return `${Math.round(v)} °C`;
      if (name === "cpu.load1_per_core") return `${v.toFixed(2)}×`;
      return formatPercent(v, 1);
    }
    case "staleness":
      return `${formatDuration(v)} ago`;
    case "alert":
      return formatNumber(v);
    default:
      // Hosts, groups and checks are scores out of 100.
      return `${Math.round(v)} / 100`;
  }
}

/** A part's explanation, with the epoch seconds the analytics write ("since 1795732122") as a time. */
export function partDetail(part: ScorePart, formatTs: (ts: number) => string): string {
  return (part.detail ?? "").replace(/\bsince (\d{9,11})(\.\d+)?\b/g, (_m, ts: string) => `since ${formatTs(Number(ts))}`);
}

/** The parts that cost points, the largest first (parts at 0 only explain the rules). */
export function costlyParts(parts: ScorePart[]): ScorePart[] {
  return parts.filter((p) => p.penalty > 0).sort((a, b) => b.penalty - a.penalty);
}

/** Points as a person counts them: "12 points", "0.5 points", "1 point". */
export function points(n: number): string {
  const v = Number(n.toFixed(1));
  return `${v} point${v === 1 ? "" : "s"}`;
}

/** One line per costly part, for a tooltip: "Memory 92.0 %: −13 points". */
export function partsSummary(parts: ScorePart[]): string {
  const costly = costlyParts(parts);
  if (costly.length === 0) return "Nothing costs points.";
  return costly.map((p) => `${partLabel(p)}${p.value != null ? ` ${partValue(p)}` : ""}: −${points(p.penalty)}`).join("\n");
}

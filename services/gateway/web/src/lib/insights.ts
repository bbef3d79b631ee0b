// How the analytics' recommendations and capacity forecasts read for a person.
import type { Capacity, Evidence } from "../api/types";
import { formatByteRate, formatDuration, formatNumber, formatPercent, formatRatio } from "./format";
import { parseSeries } from "./series";

/** A series name as a person says it: "disk.percent{mount=/}" → "disk.percent /". */
export function seriesText(series: string): string {
  const { name, labels } = parseSeries(series);
  const values = Object.values(labels);
  return values.length ? `${name} ${values.join(" ")}` : name;
}

/** One piece of evidence: "cpu.load1 p50 over 1h: 30.1". */
export function evidenceText(e: Evidence): string {
  let value: string;
  if (e.unit === "%") value = formatPercent(e.value, 1);
  else if (e.unit === "B/s") value = formatByteRate(e.value);
  else if (e.statistic.startsWith("share")) value = formatRatio(e.value, 0);
  else value = `${formatNumber(e.value)}${e.unit ? ` ${e.unit}` : ""}`;
  const window = e.window === "latest" ? "latest" : `over ${e.window}`;
  return `${seriesText(e.series)} ${e.statistic} ${window}: ${value}`;
}

const RESOURCE: Record<Capacity["resource"], string> = {
  disk: "Disk",
  memory: "Memory",
  gpu_memory: "GPU memory",
  queue: "Queue",
};

/** What a capacity forecast says, or null when there is nothing to say (not enough data). */
export function capacityText(c: Capacity): { what: string; when: string; urgent: boolean } | null {
  const labels = Object.values(parseSeries(c.series).labels);
  const what = `${RESOURCE[c.resource] ?? c.resource}${labels.length ? ` ${labels.join(" ")}` : ""}`;
  const limit = c.resource === "queue" ? formatNumber(c.limit) : formatPercent(c.limit);
  const now = c.current == null ? "" : ` (now ${c.resource === "queue" ? formatNumber(c.current) : formatPercent(c.current, 1)})`;
  switch (c.status) {
    case "reached":
      return { what, when: `at its limit of ${limit}${now}`, urgent: true };
    case "exhausting": {
      if (c.eta_s == null) return null;
      const range = c.eta_low_s != null && c.eta_high_s != null ? `, between ${formatDuration(c.eta_low_s)} and ${formatDuration(c.eta_high_s)}` : "";
      const from = c.window ? ` from the ${c.window} trend` : "";
      return { what, when: `reaches ${limit} in about ${formatDuration(c.eta_s)}${range}${from}${now}`, urgent: c.eta_s < 7 * 86400 };
    }
    case "not_exhausting":
      return { what, when: `not heading for ${limit}${now}`, urgent: false };
    default:
      return null;
  }
}

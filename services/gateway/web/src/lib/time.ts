// Time ranges of the trend charts: the seed's 1h/6h/24h/7d, or a custom start/end.

export type RangeKey = "1h" | "6h" | "24h" | "7d";
export type TimeRange = { kind: "relative"; key: RangeKey } | { kind: "absolute"; start: number; end: number };

export const RANGE_KEYS: RangeKey[] = ["1h", "6h", "24h", "7d"];
export const RANGE_SECONDS: Record<RangeKey, number> = { "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800 };

/** Start and end (epoch seconds) of a range at `now`. */
export function rangeBounds(range: TimeRange, now: number): [number, number] {
  if (range.kind === "absolute") return [range.start, range.end];
  return [now - RANGE_SECONDS[range.key], now];
}

/** The query parameters the history endpoint takes for a range. */
export function rangeParams(range: TimeRange): Record<string, string | number> {
  if (range.kind === "relative") return { range: range.key };
  return { start: Math.floor(range.start), end: Math.ceil(range.end) };
}

/**
 * The spacing of the points the gateway answers for a range (`windows.pick`): raw seconds
 * for the last hour, 1-minute rollups to a day, 10-minute ones to a week, hours beyond.
 */
export function stepFor(range: TimeRange, now = Date.now() / 1000): number {
  const age = now - rangeBounds(range, now)[0];
  if (age <= 3600) return 1;
  if (age <= 86400) return 60;
  return age <= 7 * 86400 ? 600 : 3600;
}

/** The analytics range (1h, 24h or 7d) that covers a chart's range up to now. */
export function analyticsRange(range: TimeRange, now = Date.now() / 1000): "1h" | "24h" | "7d" {
  const span = range.kind === "relative" ? RANGE_SECONDS[range.key] : now - range.start;
  if (span <= 3600) return "1h";
  return span <= 86400 ? "24h" : "7d";
}

/** Whether new live points belong on the chart (a custom range in the past is fixed). */
export function followsNow(range: TimeRange): boolean {
  return range.kind === "relative";
}

/** Most points a chart keeps for a range: one per second for 1 h, fewer beyond. */
export function maxPointsFor(range: TimeRange): number {
  return range.kind === "relative" && range.key === "1h" ? 3700 : 5000;
}

/** Parse a custom range from two `datetime-local` values; an error names what is wrong. */
export function customRange(startText: string, endText: string, now: number): TimeRange | string {
  const start = Date.parse(startText) / 1000;
  const end = endText ? Date.parse(endText) / 1000 : now;
  if (!Number.isFinite(start)) return "Choose a start time.";
  if (!Number.isFinite(end)) return "The end time is not a valid time.";
  if (end <= start) return "The end must be after the start.";
  if (end - start > 90 * 86400) return "A custom range can span 90 days at most.";
  return { kind: "absolute", start, end: Math.min(end, now) };
}

/** `datetime-local` text for epoch seconds, in local time. */
export function toLocalInput(ts: number): string {
  const d = new Date(ts * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * The span a live chart shows: its whole range, unless the data starts late in it (a host
 * that began reporting minutes ago): then from shortly before the first point, two minutes
 * at least, so the points are not squeezed against the right edge.
 */
export function shownRange(start: number, end: number, first: number | null): [number, number] {
  const span = end - start;
  if (first === null || first - start < 0.75 * span) return [start, end];
  const from = Math.min(first - 0.05 * (end - first), end - 120);
  return [Math.max(start, from), end];
}

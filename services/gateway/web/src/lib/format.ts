// Numbers formatted for people: bytes, rates, durations, percentages, ages.

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DASH = "—";

function finite(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Three significant digits at most, without trailing zeros: 1.23, 12.3, 123. */
function sig3(value: number): string {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return Number(value.toFixed(digits)).toString();
}

/** Bytes in binary multiples, labelled as such (1 KiB = 1024 B): `free -h` and `top` count the same way. */
export function formatBytes(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  let scaled = Math.abs(value);
  let unit = 0;
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  // 1023.9 KiB would print as "1024 KiB": move to the next unit instead.
  if (Number(sig3(scaled)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  const sign = value < 0 ? "-" : "";
  return `${sign}${unit === 0 ? Math.round(scaled) : sig3(scaled)} ${BYTE_UNITS[unit]}`;
}

export function formatByteRate(bytesPerSecond: number | null | undefined): string {
  if (!finite(bytesPerSecond)) return DASH;
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A count with k/M/G suffixes: 950, 1.2k, 3.4M. */
export function formatCount(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  const abs = Math.abs(value);
  if (abs < 1000) return Number.isInteger(value) ? String(value) : sig3(value);
  const units = ["k", "M", "G", "T"];
  let scaled = abs;
  let unit = -1;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit += 1;
  }
  return `${value < 0 ? "-" : ""}${sig3(scaled)}${units[unit]}`;
}

export function formatRate(perSecond: number | null | undefined, unit = "/s"): string {
  if (!finite(perSecond)) return DASH;
  return `${formatCount(perSecond)}${unit}`;
}

export function formatPercent(value: number | null | undefined, digits?: number): string {
  if (!finite(value)) return DASH;
  const d = digits ?? (Math.abs(value) >= 10 || value === 0 ? 0 : 1);
  return `${value.toFixed(d)}%`;
}

/** A fraction 0..1 as a percentage (error rates, uptime). */
export function formatRatio(value: number | null | undefined, digits = 2): string {
  if (!finite(value)) return DASH;
  const pct = value * 100;
  if (pct === 100 || pct === 0) return `${pct}%`;
  return `${Number(pct.toFixed(digits))}%`;
}

/** Milliseconds as a latency: 0.42 ms, 12 ms, 1.5 s. */
export function formatMs(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  if (Math.abs(ms) >= 1000) return `${sig3(ms / 1000)} s`;
  return `${sig3(ms)} ms`;
}

/** A duration in seconds, two units at most: 45s, 3m 20s, 5h 2m, 12d 4h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (!finite(seconds)) return DASH;
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const parts: [number, string][] = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  const [n1, u1] = parts[first];
  const [n2, u2] = parts[first + 1];
  return n2 > 0 ? `${n1}${u1} ${n2}${u2}` : `${n1}${u1}`;
}

/** How long ago an epoch-seconds time was, relative to `now` (epoch seconds). */
export function formatAge(ts: number | null | undefined, now: number): string {
  if (!finite(ts) || ts <= 0) return DASH;
  const age = now - ts;
  if (age < 2) return "just now";
  return `${formatDuration(age)} ago`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time of epoch seconds: 14:03:07, with the date when not today. */
export function formatTime(ts: number, now: number = Date.now() / 1000): string {
  const d = new Date(ts * 1000);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today = new Date(now * 1000);
  if (d.toDateString() === today.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

export function formatMhz(mhz: number | null | undefined): string {
  if (!finite(mhz)) return DASH;
  return mhz >= 1000 ? `${sig3(mhz / 1000)} GHz` : `${Math.round(mhz)} MHz`;
}

export function formatNumber(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  return sig3(value);
}

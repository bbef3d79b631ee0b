import type { ReactNode } from "react";
import { useServices } from "../app/context";
import { useFeedState, useGatewayHealth, useNow, useSession } from "../app/hooks";
import { formatAge } from "../lib/format";
import { degradedText } from "../lib/gateway";
import type { ConnectionState } from "../live/connection";
import { Link } from "./Link";

export const REFRESH_CHOICES = [2000, 5000, 10000, 30000, 60000];

function connectionText(state: ConnectionState, intervalMs: number): string {
  switch (state) {
    case "live":
      return "Live";
    case "reconnecting":
      return "Reconnecting…";
    case "polling":
      return `Polling every ${intervalMs / 1000} s`;
    case "paused":
      return "Paused";
    case "offline":
      return "Gateway unreachable";
    default:
      return "Connecting…";
  }
}

const EXPLAIN: Record<ConnectionState, string> = {
  connecting: "Opening the live stream.",
  live: "Events arrive over the live stream as they happen.",
  reconnecting: "The live stream dropped; reconnecting, and polling meanwhile.",
  polling: "The live stream is not available; the page asks the gateway at the refresh interval.",
  paused: "The live stream is not available and auto-refresh is off.",
  offline: "The gateway does not answer; retrying.",
};

export function Logo() {
  return (
    <svg width="20" height="20" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M1 9h3l2-5 3 9 2-4h4" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

export function Header({ crumbs }: { crumbs?: ReactNode }) {
  const { feed, session } = useServices();
  const { state, lastUpdate, lastError, autoRefresh, intervalMs } = useFeedState();
  const me = useSession();
  const now = useNow(5000);
  const health = useGatewayHealth();
  const degraded = degradedText(health, state);
  const why = state !== "live" && lastError ? ` Last stream error: ${lastError}.` : "";
  const what = degraded ? `The gateway serves, but: ${health?.reasons.join("; ")}. ${EXPLAIN[state]}` : EXPLAIN[state];
  const title = `${what}${why}${lastUpdate ? ` Last update ${formatAge(lastUpdate, now)}.` : ""}`;
  return (
    <header className="header">
      <Link to="/" className="brand">
        <Logo />
        Vitals
      </Link>
      <nav className="crumbs" aria-label="Breadcrumb">
        {crumbs}
      </nav>
      <div className="header-spacer" />
      <div className="header-tools">
        <span
          className={`conn conn-${degraded ? "degraded" : state}`}
          data-testid="connection"
          data-state={state}
          data-health={health?.status ?? "unknown"}
          title={title}
          role="status"
        >
          <span className="dot" />
          <span className="conn-text">{degraded ?? connectionText(state, intervalMs)}</span>
        </span>
        <span className="refresh" title="Used when the live stream is not available">
          <label>
            <input
              type="checkbox"
              checked={autoRefresh}
              onChange={(e) => {
                feed.setAutoRefresh(e.target.checked, intervalMs);
                saveRefresh(e.target.checked, intervalMs);
              }}
            />
            Auto-refresh
          </label>
          <select
            className="select"
            aria-label="Refresh interval"
            value={intervalMs}
            disabled={!autoRefresh}
            onChange={(e) => {
              feed.setAutoRefresh(autoRefresh, Number(e.target.value));
              saveRefresh(autoRefresh, Number(e.target.value));
            }}
          >
            {REFRESH_CHOICES.map((ms) => (
              <option key={ms} value={ms}>
                {ms < 60000 ? `${ms / 1000} s` : `${ms / 60000} min`}
              </option>
            ))}
          </select>
        </span>
        <span className="user" data-testid="user">
          <span>{me.user}</span>
          <span className="role">{me.role}</span>
          <button type="button" className="btn btn-small" onClick={() => void session.logout()}>
            Sign out
          </button>
        </span>
      </div>
    </header>
  );
}

const REFRESH_KEY = "vitals.refresh";

export function loadRefresh(): { on: boolean; intervalMs: number } {
  try {
    const saved = JSON.parse(localStorage.getItem(REFRESH_KEY) ?? "null") as { on?: unknown; intervalMs?: unknown } | null;
    const ms = Number(saved?.intervalMs);
    return { on: saved?.on !== false, intervalMs: REFRESH_CHOICES.includes(ms) ? ms : 5000 };
  } catch {
    return { on: true, intervalMs: 5000 };
  }
}

function saveRefresh(on: boolean, intervalMs: number): void {
  try {
    localStorage.setItem(REFRESH_KEY, JSON.stringify({ on, intervalMs }));
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

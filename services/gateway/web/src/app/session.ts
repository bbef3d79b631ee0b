// The signed-in user. The access token lives in memory only; the session itself is an
// httpOnly cookie the page cannot read, so a reload or a new tab asks `/auth/refresh` for a
// fresh token (`restore`), as it does a minute before the token expires. Signing out or in
// in one tab is told to the others through a `storage` event.
import { Api } from "../api/endpoints";
import { ApiError, Client } from "../api/http";
import type { Role } from "../api/types";

export interface Claims {
  name: string;
  role: Role;
  expiresAt: number | null;
}

/** Read (not verify: the gateway does that) the name, role and expiry a JWT carries. */
export function decodeClaims(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    // The payload is UTF-8: a user name may be any language.
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json) as { sub?: unknown; role?: unknown; exp?: unknown };
    const role: Role = claims.role === "admin" ? "admin" : "viewer";
    return {
      name: typeof claims.sub === "string" ? claims.sub : "",
      role,
      expiresAt: typeof claims.exp === "number" ? claims.exp : null,
    };
  } catch {
    return null;
  }
}

/** When to refresh a token that lives `ttl` seconds: a minute early, or at 80% for short ones. */
export function refreshDelaySeconds(ttl: number): number {
  return Math.max(ttl - 60, ttl * 0.8);
}

export interface SessionState {
  token: string | null;
  user: string;
  role: Role;
  expiresAt: number | null;
  /** Why the user is on the login page (expired, signed out elsewhere), if not by choice. */
  notice: string;
  /** Asking the gateway whether the session cookie still holds a session (page load). */
  restoring: boolean;
}

const SIGNED_OUT: SessionState = { token: null, user: "", role: "viewer", expiresAt: null, notice: "", restoring: false };
// Written on sign-in and sign-out so that the other tabs follow (they get `storage` events).
const TABS_KEY = "vitals.session";

export class Session {
  state: SessionState = SIGNED_OUT;
  readonly api: Api;
  private listeners = new Set<() => void>();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(base = "") {
    this.api = new Api(
      new Client(
        {
          token: () => this.state.token,
          onUnauthorized: () => this.end("Your session has ended. Sign in again."),
        },
        base,
      ),
    );
    if (typeof window !== "undefined") window.addEventListener("storage", this.otherTab);
  }

  private otherTab = (event: StorageEvent): void => {
    if (event.key !== TABS_KEY || !event.newValue) return;
    if (event.newValue.startsWith("out") && this.state.token) this.end("You signed out in another tab.");
    else if (event.newValue.startsWith("in") && !this.state.token && !this.state.restoring) void this.restore();
  };

  private tellTabs(what: "in" | "out"): void {
    try {
      localStorage.setItem(TABS_KEY, `${what} ${Date.now()}`);
    } catch {
      // No storage (private mode): the other tabs notice at their next call.
    }
  }

  /** Pick the session up from its cookie (a reload, a new tab); the login page if none. */
  async restore(): Promise<void> {
    this.set({ ...this.state, restoring: true });
    try {
      const answer = await this.api.refresh();
      this.accept(answer.access_token, answer.expires_in, "");
    } catch (err) {
      const notice = err instanceof ApiError && err.offline ? "The gateway cannot be reached. Is it running?" : this.state.notice;
      this.set({ ...SIGNED_OUT, notice });
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): SessionState => this.state;

  private set(state: SessionState): void {
    this.state = state;
    for (const l of this.listeners) l();
  }

  async login(username: string, password: string): Promise<void> {
    const answer = await this.api.login(username, password);
    this.accept(answer.access_token, answer.expires_in, username);
    this.tellTabs("in");
  }

  async logout(): Promise<void> {
    // Revoke on the gateway when it can (the token and the cookie); signing out locally
    // happens regardless.
    await this.api.logout().catch(() => undefined);
    this.end("");
    this.tellTabs("out");
  }

  /** Sign out locally, with the reason shown on the login page. */
  end(notice: string): void {
    this.clearTimers();
    if (this.state.token || notice) this.set({ ...SIGNED_OUT, notice });
  }

  private accept(token: string, ttl: number, fallbackName: string): void {
    const claims = decodeClaims(token);
    const expiresAt = claims?.expiresAt ?? Date.now() / 1000 + ttl;
    this.set({ token, user: claims?.name || fallbackName, role: claims?.role ?? "viewer", expiresAt, notice: "", restoring: false });
    this.clearTimers();
    this.refreshTimer = setTimeout(() => void this.refresh(), refreshDelaySeconds(ttl) * 1000);
    const left = Math.max(0, expiresAt - Date.now() / 1000);
    this.expiryTimer = setTimeout(() => this.end("Your session expired. Sign in again."), left * 1000);
  }

  private async refresh(): Promise<void> {
    try {
      const answer = await this.api.refresh();
      this.accept(answer.access_token, answer.expires_in, this.state.user);
    } catch (err) {
      // A 401 has already ended the session; otherwise the token runs to its expiry.
      if (err instanceof ApiError && (err.offline || err.status >= 500)) {
        this.refreshTimer = setTimeout(() => void this.refresh(), 10_000);
      }
    }
  }

  private clearTimers(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.refreshTimer = null;
    this.expiryTimer = null;
  }
}

// A small history router: the fleet at `/`, a host at `/hosts/<host>?tab=`, login at `/login`.
import { useSyncExternalStore } from "react";

export type HostTab = "overview" | "trends" | "alerts";
export const HOST_TABS: { id: HostTab; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "trends", label: "Performance Trends" },
  { id: "alerts", label: "Alerts & Status" },
];

export type Route =
  | { view: "fleet" }
  | { view: "host"; host: string; tab: HostTab }
  | { view: "login"; next: string }
  | { view: "missing"; path: string };

export function parseRoute(pathname: string, search: string): Route {
  const query = new URLSearchParams(search);
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { view: "fleet" };
  if (path === "/login") return { view: "login", next: safeNext(query.get("next")) };
  const match = /^\/hosts\/([^/]+)$/.exec(path);
  if (match) {
    let host: string;
    try {
      host = decodeURIComponent(match[1]);
    } catch {
      return { view: "missing", path };
    }
    const tab = query.get("tab");
    return { view: "host", host, tab: tab === "trends" || tab === "alerts" ? tab : "overview" };
  }
  return { view: "missing", path };
}

/** Only same-site paths may follow a login (never an absolute URL). */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function hostPath(host: string, tab: HostTab = "overview"): string {
  const base = `/hosts/${encodeURIComponent(host)}`;
  return tab === "overview" ? base : `${base}?tab=${tab}`;
}

const CHANGE = "vitals:navigate";

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event(CHANGE));
}

function subscribe(listener: () => void): () => void {
  window.addEventListener("popstate", listener);
  window.addEventListener(CHANGE, listener);
  return () => {
    window.removeEventListener("popstate", listener);
    window.removeEventListener(CHANGE, listener);
  };
}

const currentPath = () => location.pathname + location.search;

export function useLocationPath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

export function useRoute(): Route {
  const path = useLocationPath();
  const q = path.indexOf("?");
  return parseRoute(q < 0 ? path : path.slice(0, q), q < 0 ? "" : path.slice(q));
}

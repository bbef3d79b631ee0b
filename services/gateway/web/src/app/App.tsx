import { useEffect, useMemo } from "react";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { Header, loadRefresh } from "../components/Header";
import { Link } from "../components/Link";
import { LiveFeed, streamUrl } from "../live/feed";
import { HostStore } from "../live/store";
import { Fleet } from "../views/Fleet";
import { HostView } from "../views/host/HostView";
import { Login } from "../views/Login";
import { type Services, ServicesContext } from "./context";
import { useSession } from "./hooks";
import { navigate, type Route, useRoute } from "./router";
import { Session } from "./session";

export function createServices(): Services {
  const session = new Session();
  const store = new HostStore();
  const feed = new LiveFeed(session.api, store, () => session.state.token, streamUrl(location));
  const refresh = loadRefresh();
  feed.setAutoRefresh(refresh.on, refresh.intervalMs);
  // A refreshed token goes to the open stream too.
  session.subscribe(() => feed.tokenChanged());
  // A reload or a new tab: the session cookie, if any, signs the page in.
  void session.restore();
  return { session, store, feed };
}

export function App() {
  const services = useMemo(createServices, []);
  return (
    <ServicesContext.Provider value={services}>
      <ErrorBoundary what="This page">
        <Shell services={services} />
      </ErrorBoundary>
    </ServicesContext.Provider>
  );
}

function Shell({ services }: { services: Services }) {
  const route = useRoute();
  const { token, restoring } = useSession();
  const signedIn = token !== null;

  // Signed out: remember where the user was going; signed in: leave the login page.
  useEffect(() => {
    if (restoring) return;
    if (!signedIn && route.view !== "login") {
      const here = location.pathname + location.search;
      navigate(here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`, true);
    } else if (signedIn && route.view === "login") {
      navigate(route.next, true);
    }
  }, [signedIn, restoring, route]);

  useEffect(() => {
    if (!signedIn) return;
    services.feed.start();
    return () => services.feed.stop();
  }, [signedIn, services]);

  if (restoring && !signedIn) {
    return (
      <main className="login" data-testid="restoring" aria-busy="true">
        <span className="muted">Signing in…</span>
      </main>
    );
  }
  if (!signedIn || route.view === "login") return <Login />;
  return (
    <>
      <Header crumbs={<Crumbs route={route} />} />
      <main>
        <ErrorBoundary what="This view">
          <View route={route} />
        </ErrorBoundary>
      </main>
    </>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case "fleet":
      return <Fleet />;
    case "host":
      return <HostView key={route.host} host={route.host} tab={route.tab} />;
    case "missing":
      return (
        <div className="page">
          <div className="notice">
            Nothing here at {route.path}. <Link to="/">Go to the fleet</Link>
          </div>
        </div>
      );
    default:
      return null;
  }
}

function Crumbs({ route }: { route: Route }) {
  if (route.view !== "host") return <strong>Fleet</strong>;
  return (
    <>
      <Link to="/">Fleet</Link>
      <span aria-hidden="true">/</span>
      <strong>{route.host}</strong>
    </>
  );
}

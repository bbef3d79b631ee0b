import { DEMO_TITLE, isDemoApp } from "../lib/demo";

/** A "demo" pill beside an application name that belongs to the demo application. */
export function DemoBadge({ app }: { app: string }) {
  if (!isDemoApp(app)) return null;
  return (
    <span className="role" title={DEMO_TITLE} style={{ marginLeft: 6 }}>
      demo
    </span>
  );
}

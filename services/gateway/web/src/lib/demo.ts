// The demo application that `vitals up` starts reports invented numbers under the name
// "demo-transcriber"; every view that names an application marks such names as a demo.
export const DEMO_PREFIX = "demo-";

export function isDemoApp(app: string): boolean {
  return app.startsWith(DEMO_PREFIX);
}

export const DEMO_TITLE = "Invented numbers from the demo application; `vitals up --no-demo` (or VITALS_DEMO=0) turns it off";

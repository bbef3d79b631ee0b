import { describe, expect, it } from "vitest";
import { isDemoApp } from "./demo";
import { chartGroups } from "./trends";
import { h100Sample } from "../test/h100";

describe("the demo application", () => {
  it("is told from real applications by its name", () => {
    expect(isDemoApp("demo-transcriber")).toBe(true);
    expect(isDemoApp("transcriber")).toBe(false);
    expect(isDemoApp("my-demo-app")).toBe(false);
  });

  it("is marked as a demo in the Trends chart titles", () => {
    const apps = [
      { kind: "app" as const, v: 1, ts: 1, host: "h", app: "demo-transcriber", window: 5 },
      { kind: "app" as const, v: 1, ts: 1, host: "h", app: "transcriber", window: 5 },
    ];
    const titles = chartGroups(h100Sample(), apps).map((g) => g.title);
    expect(titles).toContain("Application: demo-transcriber (demo)");
    expect(titles).toContain("Application: transcriber");
  });
});

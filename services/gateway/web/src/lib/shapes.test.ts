import { describe, expect, it } from "vitest";
import { arcPath, level, sparkPath } from "./shapes";

describe("sparkPath", () => {
  it("maps times to x and values to y inside the box", () => {
    const { line, area } = sparkPath({ ts: [0, 50, 100], values: [0, 50, 100] }, 0, 100, 0, 100, 100, 21);
    expect(line).toBe("M0,20.5L50,10.5L100,0.5");
    expect(area).toBe("M0,20.5L50,10.5L100,0.5L100,21L0,21Z");
  });

  it("clamps values and drops points outside the span", () => {
    const { line } = sparkPath({ ts: [-10, 0, 100, 200], values: [5, 150, -20, 5] }, 0, 100, 0, 100, 10, 11);
    expect(line).toBe("M0,0.5L10,10.5");
  });

  it("draws nothing from fewer than two points", () => {
    expect(sparkPath({ ts: [1], values: [1] }, 0, 10, 0, 100, 10, 10)).toEqual({ line: "", area: "" });
  });
});

describe("arcPath", () => {
  it("draws a quarter from the top, clockwise", () => {
    expect(arcPath(50, 50, 50, 30, 0, 0.25)).toBe("M50,0A50,50 0 0 1 100,50L80,50A30,30 0 0 0 50,20Z");
  });

  it("draws nothing for an empty slice and never a degenerate full circle", () => {
    expect(arcPath(50, 50, 50, 30, 0.3, 0.3)).toBe("");
    expect(arcPath(50, 50, 50, 30, 0, 1)).toContain(" 0 1 1 ");
  });
});

describe("level", () => {
  it.each([
    [null, ""],
    [79.9, ""],
    [80, "warn"],
    [90, "crit"],
  ])("%s → %j", (p, expected) => {
    expect(level(p)).toBe(expected);
  });
});

import { describe, expect, it } from "vitest";
import { hostPath, parseRoute, safeNext } from "./router";

describe("routes", () => {
  it.each([
    ["/", "", { view: "fleet" }],
    ["", "", { view: "fleet" }],
    ["/login", "?next=%2Fhosts%2Fa", { view: "login", next: "/hosts/a" }],
    ["/hosts/gpu-1", "", { view: "host", host: "gpu-1", tab: "overview" }],
    ["/hosts/gpu-1/", "?tab=trends", { view: "host", host: "gpu-1", tab: "trends" }],
    ["/hosts/a%20b", "?tab=alerts", { view: "host", host: "a b", tab: "alerts" }],
    ["/hosts/a", "?tab=bogus", { view: "host", host: "a", tab: "overview" }],
    ["/hosts/%E0%A4%A", "", { view: "missing", path: "/hosts/%E0%A4%A" }],
    ["/nowhere", "", { view: "missing", path: "/nowhere" }],
  ])("%s%s", (path, search, expected) => {
    expect(parseRoute(path, search)).toEqual(expected);
  });

  it.each([
    [null, "/"],
    ["/hosts/a?tab=trends", "/hosts/a?tab=trends"],
    ["//evil.example", "/"],
    ["https://evil.example/", "/"],
  ])("after login %s goes to %s", (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it.each([
    ["gpu-1", "overview", "/hosts/gpu-1"],
    ["gpu-1", "alerts", "/hosts/gpu-1?tab=alerts"],
    ["a/b", "trends", "/hosts/a%2Fb?tab=trends"],
  ] as const)("path of %s %s", (host, tab, expected) => {
    expect(hostPath(host, tab)).toBe(expected);
  });
});

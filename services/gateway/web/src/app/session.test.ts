import { describe, expect, it } from "vitest";
import { decodeClaims, refreshDelaySeconds } from "./session";

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (claims: object) => `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}.signature`;

describe("decodeClaims", () => {
  it.each([
    [jwt({ sub: "ann", role: "admin", exp: 2000 }), { name: "ann", role: "admin", expiresAt: 2000 }],
    [jwt({ sub: "bob", role: "viewer" }), { name: "bob", role: "viewer", expiresAt: null }],
    [jwt({ sub: "eve", role: "root", exp: "soon" }), { name: "eve", role: "viewer", expiresAt: null }],
    [jwt({ sub: "名前", role: "admin", exp: 1 }).replace(/=/g, ""), { name: "名前", role: "admin", expiresAt: 1 }],
    ["not-a-token", null],
    ["a.%%%.c", null],
  ])("%s", (token, expected) => {
    expect(decodeClaims(token)).toEqual(expected);
  });
});

describe("refreshDelaySeconds", () => {
  it.each([
    [3600, 3540],
    [300, 240],
    [60, 48],
    [10, 8],
    [4, 3.2],
  ])("a %s s token is refreshed after %s s", (ttl, expected) => {
    expect(refreshDelaySeconds(ttl)).toBe(expected);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeClaims, refreshDelaySeconds, Session } from "./session";

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

describe("Session and its cookie", () => {
  afterEach(() => vi.unstubAllGlobals());

  function answering(status: number, body: unknown) {
    const calls: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body === undefined ? null : JSON.stringify(body), { status });
    });
    return calls;
  }

  it("restores a session from the cookie, asking with the CSRF header", async () => {
    const access = jwt({ sub: "ann", role: "admin", exp: Date.now() / 1000 + 600 });
    const calls = answering(200, { access_token: access, token_type: "bearer", expires_in: 600 });
    const session = new Session();
    const restoring = session.restore();
    expect(session.state.restoring).toBe(true);
    await restoring;
    expect(session.state).toMatchObject({ token: access, user: "ann", role: "admin", restoring: false });
    expect(calls[0].url).toBe("/auth/refresh");
    expect(calls[0].init.credentials).toBe("same-origin");
    expect((calls[0].init.headers as Record<string, string>)["X-Vitals-CSRF"]).toBe("1");
    session.end("");
  });

  it("shows the login page when there is no session to restore", async () => {
    answering(401, { detail: "the session is over: log in again" });
    const session = new Session();
    await session.restore();
    expect(session.state).toMatchObject({ token: null, restoring: false, notice: "" });
  });
});

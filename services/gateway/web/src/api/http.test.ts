import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, Client, endpointMissing, errorDetail, withQuery } from "./http";

describe("errors", () => {
  it.each([
    [404, "Not Found", true],
    [404, "unknown host 'x'", false],
    [405, "Method Not Allowed", true],
    [501, "", true],
    [403, "this needs the admin role", false],
    [500, "internal error", false],
  ])("%s %j means endpoint missing: %s", (status, detail, expected) => {
    expect(endpointMissing(status, detail)).toBe(expected);
  });

  it.each([
    [{ detail: "wrong username or password" }, "wrong username or password"],
    [{ detail: [{ loc: ["query", "range"], msg: "Input should be '1h'" }, { loc: ["body"], msg: "Field required" }] }, "range: Input should be '1h'; Field required"],
    ["plain text", "fallback"],
    [null, "fallback"],
  ])("detail of %j", (body, expected) => {
    expect(errorDetail(body, "fallback")).toBe(expected);
  });

  it.each([
    ["/x", undefined, "/x"],
    ["/x", { a: 1, b: "", c: null, d: undefined, e: true }, "/x?a=1&e=true"],
    ["/x", { metric: "disk.percent{mount=/}" }, "/x?metric=disk.percent%7Bmount%3D%2F%7D"],
  ])("%s %j → %s", (path, params, expected) => {
    expect(withQuery(path, params)).toBe(expected);
  });
});

describe("Client", () => {
  afterEach(() => vi.unstubAllGlobals());

  function answering(status: number, body: unknown, headers: Record<string, string> = {}) {
    const calls: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
    });
    return calls;
  }

  it("sends the bearer token and reads JSON", async () => {
    const calls = answering(200, { ok: 1 });
    const client = new Client({ token: () => "T", onUnauthorized: () => undefined });
    expect(await client.get("/a", { host: "h" })).toEqual({ ok: 1 });
    expect(calls[0].url).toBe("/a?host=h");
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer T");
  });

  it("ends the session on 401 of an authenticated call, with the gateway's reason", async () => {
    answering(401, { detail: "token revoked" });
    const ended: string[] = [];
    const client = new Client({ token: () => "T", onUnauthorized: (d) => ended.push(d) });
    await expect(client.get("/a")).rejects.toMatchObject({ status: 401, detail: "token revoked" });
    expect(ended).toEqual(["token revoked"]);
  });

  it("sends a login form without a token, and reads Retry-After", async () => {
    const calls = answering(429, { detail: "too many attempts" }, { "Retry-After": "30" });
    const client = new Client({ token: () => "T", onUnauthorized: () => undefined });
    const err = await client.request("POST", "/auth/token", { form: { username: "a", password: "b" }, anonymous: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).retryAfter).toBe(30);
    expect(String(calls[0].init.body)).toBe("username=a&password=b");
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined();
  });

  it("reports an unreachable gateway as offline", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("fetch failed");
    });
    const client = new Client({ token: () => null, onUnauthorized: () => undefined });
    await expect(client.get("/a")).rejects.toMatchObject({ status: 0, offline: true });
  });

  it("marks a missing endpoint as not available", async () => {
    answering(404, { detail: "Not Found" });
    const client = new Client({ token: () => "T", onUnauthorized: () => undefined });
    await expect(client.get("/admin/system/alerts")).rejects.toMatchObject({ notAvailable: true });
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { recorded } from "../test/recorded";
import { Api } from "./endpoints";
import { ApiError, Client, endpointMissing, errorDetail, withQuery } from "./http";

describe("errors", () => {
  it.each([
    [404, "not found", true],
    [404, "unknown host 'x'", false],
    [404, "host 'vm' has no series 'gpu.utilization{gpu=0}'", false],
    [405, "Method Not Allowed", true],
    [501, "", false],
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

  it("marks a missing endpoint as not available (the gateway's recorded answer)", async () => {
    const missing = recorded("unknown-route");
    answering(missing.status, missing.body);
    const client = new Client({ token: () => "T", onUnauthorized: () => undefined });
    await expect(client.get("/admin/system/health")).rejects.toMatchObject({ notAvailable: true });
  });
});

describe("Api", () => {
  afterEach(() => vi.unstubAllGlobals());

  function api(answer: { status: number; body: unknown }) {
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    });
    return { api: new Api(new Client({ token: () => "T", onUnauthorized: () => undefined })), urls };
  }

  it("asks for one series over a range and reads it", async () => {
    const { api: a, urls } = api(recorded("history-raw"));
    const series = await a.history("gpu-h100", "cpu.percent", { kind: "relative", key: "1h" });
    expect(series.ts).toHaveLength(20);
    expect(urls[0]).toBe("/admin/system/metrics/historical?host=gpu-h100&metric=cpu.percent&range=1h");
  });

  it("reads a series the host does not have as empty, not as a failure", async () => {
    const { api: a } = api(recorded("history-missing"));
    expect(await a.history("vm", "gpu.utilization{gpu=0}", { kind: "relative", key: "1h" })).toEqual({ step: 1, ts: [], values: [] });
  });

  it("fails for an unknown host", async () => {
    const { api: a } = api({ status: 404, body: { detail: "unknown host 'x'" } });
    await expect(a.history("x", "cpu.percent", { kind: "relative", key: "1h" })).rejects.toMatchObject({ status: 404, notAvailable: false });
  });

  it("asks the analytics for the range that covers the chart's", async () => {
    const { api: a, urls } = api(recorded("analytics"));
    const answer = await a.analytics("gpu-h100", { kind: "relative", key: "6h" });
    expect(urls[0]).toBe("/admin/system/analytics?host=gpu-h100&range=24h");
    expect(answer?.host).toBe("gpu-h100");
  });

  it("creates a silence for a duration, and asks for alerts with the query given", async () => {
    const calls: { url: string; body: unknown }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : null });
      return new Response(JSON.stringify({ alerts: [] }), { status: 200 });
    });
    const a = new Api(new Client({ token: () => "T", onUnauthorized: () => undefined }));
    await a.createSilence({ matchers: [{ name: "host", value: "h", op: "=" }], duration: 3600, comment: "" });
    await a.alerts({ host: "h", since: 100, state: "firing" });
    expect(calls[0].body).toEqual({ matchers: [{ name: "host", value: "h", op: "=" }], duration: 3600, comment: "" });
    expect(calls[1].url).toBe("/admin/system/alerts?host=h&since=100&state=firing");
  });
});

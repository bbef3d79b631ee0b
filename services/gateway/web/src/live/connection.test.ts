import { describe, expect, it } from "vitest";
import { frames } from "../test/recorded";
import {
  backoffMs,
  closeAction,
  type ConnectionFacts,
  connectionState,
  FLEET_SUBSCRIPTION,
  helloMessage,
  hostSubscription,
  isSilent,
  parseFrame,
  PING_MESSAGE,
  renewMessage,
  shouldPoll,
  SILENT_AFTER_S,
  subscribeMessage,
  wholeSamples,
} from "./connection";

const facts = (over: Partial<ConnectionFacts>): ConnectionFacts => ({ wsOpen: false, wasLive: false, wsFailures: 0, autoRefresh: true, unreachable: false, ...over });

describe("connection state", () => {
  it.each([
    { name: "first attempt", f: {}, state: "connecting", poll: false },
    { name: "stream open", f: { wsOpen: true, wasLive: true }, state: "live", poll: false },
    { name: "stream open wins over an old poll failure", f: { wsOpen: true, unreachable: true }, state: "live", poll: false },
    { name: "one failure, never live", f: { wsFailures: 1 }, state: "connecting", poll: false },
    { name: "no stream on this gateway", f: { wsFailures: 2 }, state: "polling", poll: true },
    { name: "no stream, auto-refresh off", f: { wsFailures: 5, autoRefresh: false }, state: "paused", poll: false },
    { name: "stream dropped", f: { wasLive: true, wsFailures: 1 }, state: "reconnecting", poll: true },
    { name: "stream dropped long ago", f: { wasLive: true, wsFailures: 6 }, state: "polling", poll: true },
    { name: "gateway unreachable", f: { wasLive: true, wsFailures: 3, unreachable: true }, state: "offline", poll: true },
    { name: "unreachable, auto-refresh off", f: { unreachable: true, autoRefresh: false }, state: "offline", poll: false },
  ])("$name → $state", ({ f, state, poll }) => {
    expect(connectionState(facts(f))).toBe(state);
    expect(shouldPoll(facts(f))).toBe(poll);
  });
});

describe("backoffMs", () => {
  it.each([
    [1, 0.5, 1000],
    [2, 0.5, 2000],
    [3, 0.5, 4000],
    [6, 0.5, 30000],
    [20, 0.5, 30000],
    [1, 0, 800],
    [1, 1, 1200],
    [0, 0.5, 1000],
  ])("failure %s, jitter %s → %s ms", (failures, jitter, expected) => {
    expect(backoffMs(failures, jitter)).toBe(expected);
  });
});

describe("stream messages (the gateway's protocol)", () => {
  it("says hello with the token and the subscription, as subscriptions.Subscription reads it", () => {
    expect(JSON.parse(helloMessage("t0k", hostSubscription("gpu-1")))).toEqual({
      token: "t0k",
      subscribe: { hosts: ["gpu-1"], metrics: ["*"], apps: true, checks: true, alerts: true, annotations: true, info: true },
    });
  });

  it("asks every host for the families the fleet draws, by the gateway's names", () => {
    expect(JSON.parse(subscribeMessage(FLEET_SUBSCRIPTION))).toEqual({
      subscribe: { hosts: [], metrics: ["cpu", "memory", "gpus"], apps: false, checks: false, alerts: true, annotations: false, info: true },
    });
  });

  it("renews the token and pings", () => {
    expect(JSON.parse(renewMessage("new"))).toEqual({ token: "new" });
    expect(JSON.parse(PING_MESSAGE)).toEqual({ type: "ping" });
  });

  it("reads the recorded frames: the subscription, trimmed metrics, a pong, an error", () => {
    const read = frames().map(parseFrame);
    expect(read[0]).toEqual({ type: "subscribed", subscription: FLEET_SUBSCRIPTION });
    const event = read.find((f) => f?.type === "event");
    expect(event?.type === "event" && event.event.kind).toBe("metrics");
    // The fleet's frames carry only the families it asked for.
    expect(event?.type === "event" && "disks" in event.event).toBe(false);
    expect(read.find((f) => f?.type === "pong")).toMatchObject({ type: "pong", ts: expect.any(Number) });
    expect(read.find((f) => f?.type === "error")).toMatchObject({ reason: expect.stringContaining("unknown metric families ['gpu']") });
  });

  it.each([
    ['{"kind":"metrics","ts":1,"host":"h"}', "event"],
    ['{"kind":"alert","ts":1,"host":"h"}', "event"],
    ['{"kind":"annotation","ts":1,"host":"","text":"x"}', "event"],
    ['{"type":"token_renewed"}', "token_renewed"],
    ['{"kind":"metrics"}', null],
    ['{"kind":"other","ts":1,"host":"h"}', null],
    ['{"type":"subscribed"}', null],
    ['{"type":"something new"}', null],
    ["not json", null],
    ["[1,2]", null],
    ["null", null],
  ])("frame %s is %s", (frame, type) => {
    expect(parseFrame(frame)?.type ?? null).toBe(type);
  });

  it("ignores binary frames", () => {
    expect(parseFrame(new ArrayBuffer(2))).toBeNull();
  });

  it("knows whole samples from trimmed ones by the confirmed subscription", () => {
    expect(wholeSamples(hostSubscription("h"))).toBe(true);
    expect(wholeSamples(FLEET_SUBSCRIPTION)).toBe(false);
    expect(wholeSamples(null)).toBe(false);
  });
});

describe("closing", () => {
  it.each([
    [4001, true, "reconnect", ""],
    [4001, false, "retry", "the gateway refused the token"],
    [4008, false, "retry", "the page fell behind the stream"],
    [4400, false, "retry", "the gateway did not understand the subscription"],
    [1001, false, "retry", "the gateway restarted"],
    [4000, false, "retry", "the stream stopped answering"],
    [1006, false, "retry", ""],
  ])("code %s, token changed %s → %s", (code, changed, action, why) => {
    expect(closeAction(code, changed)).toEqual({ action, why });
  });

  it.each([
    [100, 100 + SILENT_AFTER_S, false],
    [100, 100 + SILENT_AFTER_S + 1, true],
  ])("heard at %s, now %s: silent %s", (heard, now, silent) => {
    expect(isSilent(heard, now)).toBe(silent);
  });
});

import { describe, expect, it } from "vitest";
import { backoffMs, type ConnectionFacts, connectionState, frameError, helloMessage, hostSubscription, parseFrame, shouldPoll, subscribeMessage, FLEET_SUBSCRIPTION } from "./connection";

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

describe("stream messages", () => {
  it("says hello with the token and the subscription", () => {
    expect(JSON.parse(helloMessage("t0k", hostSubscription("gpu-1")))).toEqual({
      token: "t0k",
      subscribe: { hosts: ["gpu-1"], families: expect.arrayContaining(["cpu", "gpu", "app"]), alerts: true, checks: true },
    });
  });

  it("leaves out hosts to hear about every host", () => {
    expect(JSON.parse(subscribeMessage(FLEET_SUBSCRIPTION))).toEqual({ subscribe: { families: ["cpu", "memory", "gpu"], alerts: true, checks: false } });
  });

  it.each([
    ['{"kind":"metrics","ts":1,"host":"h"}', "metrics"],
    ['{"kind":"alert","ts":1}', "alert"],
    ['{"kind":"annotation","ts":1,"text":"x"}', "annotation"],
    ['{"kind":"subscribed"}', null],
    ['{"kind":"metrics"}', null],
    ['{"type":"error","reason":"bad token"}', null],
    ["not json", null],
    ["[1,2]", null],
    ["null", null],
  ])("frame %s is %s", (frame, kind) => {
    expect(parseFrame(frame)?.kind ?? null).toBe(kind);
  });

  it("ignores binary frames", () => {
    expect(parseFrame(new ArrayBuffer(2))).toBeNull();
  });

  it.each([
    ['{"type":"error","reason":"token expired"}', "token expired"],
    ['{"error":"too slow"}', "too slow"],
    ['{"kind":"metrics"}', null],
    ["junk", null],
  ])("error frame %s → %s", (frame, reason) => {
    expect(frameError(frame)).toBe(reason);
  });
});

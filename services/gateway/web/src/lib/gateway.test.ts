import { describe, expect, it } from "vitest";
import { gatewayHealthFrom } from "../api/normalize";
import { degradedText } from "./gateway";

describe("the gateway's health in the header", () => {
  const alerter = "alerter not answering: nothing answers its requests on the bus";
  it.each([
    [{ status: "ok", reason: "", reasons: [] }, "live", null],
    [{ status: "degraded", reason: alerter, reasons: [alerter] }, "live", `Degraded: ${alerter}`],
    [{ status: "degraded", reason: alerter, reasons: [alerter] }, "polling", `Degraded: ${alerter}`],
    [{ status: "unavailable", reason: "x; y", reasons: ["storage unreachable (Redis)", "bus unreachable (NATS)"] }, "reconnecting", "Degraded: storage unreachable (Redis); bus unreachable (NATS)"],
    [{ status: "unavailable", reason: "Redis is unreachable" }, "live", "Degraded: Redis is unreachable"],
    [{ status: "degraded", reasons: [alerter] }, "offline", null],
    [null, "live", null],
    ["garbage", "live", "Degraded: unavailable"],
  ] as const)("%j while %s → %s", (body, state, text) => {
    expect(degradedText(body === null ? null : gatewayHealthFrom(body), state)).toBe(text);
  });
});

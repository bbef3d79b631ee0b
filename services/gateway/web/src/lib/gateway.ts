// What the header says about the gateway itself, from `/healthz` and the stream's state.
import type { GatewayHealth } from "../api/types";
import type { ConnectionState } from "../live/connection";

/**
 * "Degraded: alerter not answering: …" while the gateway serves without a part it needs (or
 * says it is unavailable, yet answered); null when all is well or the gateway is out of
 * reach (the connection state says that already).
 */
export function degradedText(health: GatewayHealth | null, state: ConnectionState): string | null {
  if (!health || health.status === "ok" || state === "offline" || state === "connecting") return null;
  return `Degraded: ${health.reasons.join("; ") || health.status}`;
}

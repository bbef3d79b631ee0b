// Answers recorded from a running gateway (with the alerter, the notifier, an agent and a
// simulated GPU host shaped like the recorded H100 machine), one JSON file per request:
// `{"status": <HTTP status>, "body": <the answer>}`; `stream.json` holds websocket frames.
import { readFileSync } from "node:fs";

const DIR = new URL("./recorded/", import.meta.url);

export function recorded(name: string): { status: number; body: unknown } {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), "utf8")) as { status: number; body: unknown };
}

/** The body of a recorded answer. */
export function body<T = unknown>(name: string): T {
  return recorded(name).body as T;
}

/** The recorded websocket frames, as the gateway sent them (text). */
export function frames(): string[] {
  return (JSON.parse(readFileSync(new URL("stream.json", DIR), "utf8")) as unknown[]).map((f) => JSON.stringify(f));
}

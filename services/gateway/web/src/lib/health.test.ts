import { describe, expect, it } from "vitest";
import { healthFrom } from "../api/normalize";
import type { ScorePart } from "../api/types";
import { body } from "../test/recorded";
import { costlyParts, gradeOf, partDetail, partLabel, partsSummary, partValue, points } from "./health";

const part = (over: Partial<ScorePart> & Pick<ScorePart, "kind" | "name">): ScorePart => ({ penalty: 0, ...over });

describe("health parts", () => {
  it.each([
    [part({ kind: "metric", name: "cpu.percent", value: 91.26 }), "CPU", "91.3%"],
    [part({ kind: "metric", name: "disk.percent{mount=/data}", value: 97 }), "Disk /data", "97.0%"],
    [part({ kind: "metric", name: "gpu.memory_percent{gpu=1}", value: 99.5 }), "GPU 1 memory", "99.5%"],
    [part({ kind: "metric", name: "gpu.temperature{gpu=0}", value: 84.6 }), "GPU 0 temperature", "85 °C"],
    [part({ kind: "metric", name: "cpu.load1_per_core", value: 1.5 }), "Load per core", "1.50×"],
    [part({ kind: "metric", name: "swap.in_per_s", value: 2048 }), "Swapping in", "2 KiB/s"],
    [part({ kind: "staleness", name: "last_sample_age_s", value: 95 }), "Last sample", "1m 35s ago"],
    [part({ kind: "alert", name: "memory_in_use", value: 3.3 }), "Alert memory_in_use", "3.3"],
    [part({ kind: "host", name: "vm", value: 90 }), "vm", "90 / 100"],
    [part({ kind: "group", name: "transcriber", value: 94.4 }), "Checks: transcriber", "94 / 100"],
    [part({ kind: "check", name: "gpu-h100/asr-health", value: 83.3 }), "gpu-h100/asr-health", "83 / 100"],
  ])("%j reads %s, %s", (p, label, value) => {
    expect(partLabel(p)).toBe(label);
    expect(partValue(p)).toBe(value);
  });

  it("lists what costs points, the largest first (recorded fleet answer)", () => {
    const health = healthFrom(body("health"));
    const vm = health?.hosts.find((h) => h.host === "vm");
    expect(costlyParts(vm?.parts ?? []).map((p) => p.kind)).toEqual(["alert"]);
    expect(partsSummary(vm?.parts ?? [])).toBe("Alert memory_in_use 3.1: −10 points");
    expect(costlyParts(health?.fleet?.parts ?? []).map((p) => p.name)).toEqual(["gpu-h100", "vm", "transcriber"]);
    const h100 = health?.hosts.find((h) => h.host === "gpu-h100");
    expect(partsSummary(h100?.parts ?? [])).toBe("Alert disk_full 100: −25 points");
    expect(partsSummary((h100?.parts ?? []).filter((p) => p.kind !== "alert"))).toBe("Nothing costs points.");
  });

  it("writes the times in a part's explanation as times", () => {
    const p = part({ kind: "alert", name: "disk_full", detail: "critical alert (firing) since 1795732122: Disk / at 97%" });
    expect(partDetail(p, (ts) => `<${ts}>`)).toBe("critical alert (firing) since <1795732122>: Disk / at 97%");
    expect(partDetail(part({ kind: "metric", name: "cpu.percent", detail: "no penalty up to 80 %" }), String)).toBe("no penalty up to 80 %");
  });

  it.each([
    [95, undefined, "healthy"],
    [70, undefined, "degraded"],
    [10, undefined, "critical"],
    [null, undefined, "unknown"],
    [99, "unknown", "unknown"],
  ] as const)("score %s, status %s → %s", (score, status, grade) => {
    expect(gradeOf(score, status)).toBe(grade);
  });

  it.each([
    [1, "1 point"],
    [10, "10 points"],
    [5.56, "5.6 points"],
  ])("%s → %s", (n, text) => {
    expect(points(n)).toBe(text);
  });
});

// The chart benchmark page (`make bench-dashboard` drives it in Chromium): the dashboard's
// own TimeChart with 3,600 points × 4 series, and a bare uPlot with the same data as the
// baseline. `window.vitalsBench.redraw(n)` appends n points one by one and returns the
// time from each append to the chart's draw, in milliseconds.
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import uPlot from "uplot";
import { TimeChart } from "../components/TimeChart";
import { formatPercent } from "../lib/format";
import { ChartWindow } from "../lib/timeseries";
import { PALETTE } from "../lib/trends";
import "../styles/app.css";

const POINTS = 3600;
const SERIES = 4;
const START = 1_700_000_000;

function wave(t: number, k: number): number {
  return 50 + 30 * Math.sin(t / (300 + 97 * k)) + 10 * Math.sin(t / (17 + k));
}

function filled(): ChartWindow {
  const w = new ChartWindow(SERIES, POINTS);
  for (let i = 0; i < POINTS; i++) {
    const t = START + i;
    w.append(t, Array.from({ length: SERIES }, (_, k) => wave(t, k)));
  }
  return w;
}

const specs = Array.from({ length: SERIES }, (_, k) => ({ label: `series ${k}`, color: PALETTE[k] }));
let drawn: (() => void) | null = null;
let appendPoint: (() => void) | null = null;

function Bench() {
  const [win] = useState(filled);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    appendPoint = () => {
      const t = (win.lastTime() ?? START) + 1;
      win.append(t, Array.from({ length: SERIES }, (_, k) => wave(t, k)));
      setVersion((v) => v + 1);
    };
  }, [win]);
  return (
    <div className="panel">
      <div className="panel-body">
        <TimeChart series={specs} data={win.table} version={version} height={240} format={(v) => formatPercent(v)} max={100} onDrawn={() => drawn?.()} />
      </div>
    </div>
  );
}

async function timeEach(n: number, step: () => void, wait: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const done = wait();
    step();
    await done;
    out.push(performance.now() - t0);
    // One frame between points, as live updates arrive.
    await new Promise((r) => requestAnimationFrame(() => r(null)));
  }
  return out;
}

function bareUplot(el: HTMLElement): { u: uPlot; data: number[][] } {
  const w = filled();
  const data = w.table as number[][];
  let resolveDraw: (() => void) | null = null;
  const u = new uPlot(
    {
      width: 1160,
      height: 240,
      series: [{}, ...specs.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 }))],
      hooks: { draw: [() => resolveDraw?.()] },
    },
    data as uPlot.AlignedData,
    el,
  );
  (u as unknown as { waitDraw: () => Promise<void> }).waitDraw = () => new Promise<void>((r) => (resolveDraw = r));
  return { u, data };
}

declare global {
  interface Window {
    vitalsBench: { redraw(n: number): Promise<number[]>; baseline(n: number): Promise<number[]> };
  }
}

const root = document.getElementById("root") as HTMLElement;
const chartEl = document.createElement("div");
const bareEl = document.createElement("div");
root.append(chartEl, bareEl);
createRoot(chartEl).render(<Bench />);
const bare = bareUplot(bareEl);

window.vitalsBench = {
  redraw: (n) =>
    timeEach(
      n,
      () => appendPoint?.(),
      () => new Promise<void>((r) => (drawn = r)),
    ),
  baseline: (n) =>
    timeEach(
      n,
      () => {
        const xs = bare.data[0];
        const t = xs[xs.length - 1] + 1;
        xs.push(t);
        xs.shift();
        for (let k = 1; k <= SERIES; k++) {
          bare.data[k].push(wave(t, k - 1));
          bare.data[k].shift();
        }
        bare.u.setData(bare.data as uPlot.AlignedData);
      },
      () => (bare.u as unknown as { waitDraw: () => Promise<void> }).waitDraw(),
    ),
};

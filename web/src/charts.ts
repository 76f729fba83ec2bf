// uPlot charts that follow the page's theme and width.
import uPlot from "uplot";
import { isoDate } from "./fmt";

export interface Series {
  label: string;
  values: (number | null)[];
  color?: string; // a CSS variable name, e.g. "--series-1"
  fill?: boolean;
}

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

export interface ChartOptions {
  title: string;
  times: number[];
  series: Series[];
  format?: (value: number) => string;
  height?: number;
  /** The legend's text for series `s` (0 = first data series) at point `i`; defaults to `format` of the drawn value. */
  legend?: (s: number, i: number) => string;
}

/** Draws a time-series chart into `host`; it redraws at the host's width and returns the uPlot instance. */
export function lineChart(host: HTMLElement, options: ChartOptions): uPlot {
  const format = options.format || ((v: number) => v.toFixed(2));
  const axis = { stroke: css("--muted"), grid: { stroke: css("--grid"), width: 1 }, ticks: { stroke: css("--grid") } };
  const width = Math.max(host.clientWidth, 280);
  const palette = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"];
  const opts: uPlot.Options = {
    title: options.title,
    width,
    height: options.height || 260,
    scales: { x: { time: true } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    axes: [
      { ...axis, values: (_u, splits) => splits.map((s) => isoDate(s).slice(0, 7)) },
      {
        ...axis,
        // Wide enough for the longest label (money and percentages vary by locale).
        size: (_u: uPlot, values: string[]) => (values?.length ? Math.max(...values.map((v) => v.length)) * 7 + 18 : 50),
        values: (_u, splits) => splits.map((s) => format(s)),
      },
    ],
    series: [
      { label: "Date", value: (_u, v) => (v === null ? "—" : isoDate(v)) },
      ...options.series.map((s, i) => {
        const color = s.color?.startsWith("--") || !s.color ? css(s.color || palette[i % palette.length]) : s.color;
        const legend = options.legend;
        return {
          label: s.label,
          stroke: color,
          width: 1.5,
          fill: s.fill ? (color.startsWith("#") ? `${color}55` : color) : undefined,
          value: (_u: uPlot, v: number | null, _s: number, idx: number | null) =>
            legend && idx !== null ? legend(i, idx) : v === null ? "—" : format(v),
          points: { show: false },
        };
      }),
    ],
  };
  // The canvas says nothing to a screen reader: the figure is named, and the legend (a table) reads the values.
  host.setAttribute("role", "figure");
  host.setAttribute("aria-label", `${options.title}: ${options.series.map((s) => s.label).join(", ")}`);
  const data: uPlot.AlignedData = [options.times, ...options.series.map((s) => s.values)];
  const chart = new uPlot(opts, data, host);
  const observer = new ResizeObserver(() => {
    if (!host.isConnected) {
      observer.disconnect();
      chart.destroy();
      return;
    }
    const next = Math.max(host.clientWidth, 280);
    if (next !== chart.width) chart.setSize({ width: next, height: chart.height });
  });
  observer.observe(host);
  return chart;
}

/** Cumulative sums of series (bottom first), so filled lines draw a stacked area. */
export function stack(series: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let running: number[] = series.length ? series[0].map(() => 0) : [];
  for (const values of series) {
    running = running.map((base, i) => base + (values[i] ?? 0));
    out.push([...running]);
  }
  return out;
}

// Allocations: today's drifted weights, target weights over time (stacked), and the rebalances seen.
import { get } from "../api";
import { lineChart, stack } from "../charts";
import { epoch, pct } from "../fmt";
import { empty, h, load, section, table } from "../ui";

interface Allocation {
  symbol: string;
  weight: number;
}
interface Current {
  date: string;
  value: number;
  rebalance_date: string | null;
  allocations: Allocation[];
  notes: string[];
}
interface AllocationsRead {
  date: string;
  rebalance_date: string;
  rebalance_trigger: string;
  allocations: Allocation[];
}

const SAMPLES = 12; // every other month end over two years: the API serves one date per request (no list of rebalances yet)

function monthEnds(last: string, count: number): string[] {
  const end = new Date(`${last}T00:00:00Z`);
  const dates: string[] = [];
  for (let i = count - 1; i >= 1; i--) {
    const d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 2 * i + 1, 0));
    dates.push(d.toISOString().slice(0, 10));
  }
  dates.push(last);
  return dates;
}

/** Runs `tasks` with at most `limit` in flight; a failed task yields null. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<(T | null)[]> {
  const out: (T | null)[] = new Array(tasks.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]().catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

function weightsTable(current: Current): (HTMLElement | string)[] {
  if (!current.allocations.length) return [empty("No allocations yet.")];
  const rows = current.allocations.map((a) => [a.symbol, pct(a.weight), h("meter", { min: 0, max: 1, value: a.weight, "aria-label": `${a.symbol} weight` })]);
  const since = current.rebalance_date && current.rebalance_date !== current.date ? `drifted since the rebalance of ${current.rebalance_date}` : "as rebalanced";
  return [
    h("p", { class: "muted" }, `Weights on ${current.date}, ${since}.`),
    table(["Asset", "Weight", ""], rows),
    current.notes.length ? h("ul", { class: "notes", "aria-label": "Notes on the last rebalance" }, ...current.notes.map((n) => h("li", {}, n))) : "",
  ];
}

function targetsOverTime(reads: AllocationsRead[]): HTMLElement[] {
  if (!reads.length) return [empty("No target weights yet.")];
  const symbols = [...new Set(reads.flatMap((r) => r.allocations.map((a) => a.symbol)))].sort();
  const raw = symbols.map((s) => reads.map((r) => r.allocations.find((a) => a.symbol === s)?.weight ?? 0));
  const cumulative = stack(raw);
  const chart = h("div", { class: "chart", "data-chart": "targets" });
  // Drawn top-down (the largest cumulative sum first), each filled to zero, so the bands stack.
  const order = symbols.map((_, i) => symbols.length - 1 - i);
  queueMicrotask(() =>
    lineChart(chart, {
      title: "Target weights, every other month end",
      times: reads.map((r) => epoch(r.date)),
      format: (v) => pct(v),
      height: 320,
      series: order.map((i) => ({ label: symbols[i], values: cumulative[i], fill: true, color: `hsl(${Math.round((i * 360) / symbols.length)} 55% 55%)` })),
      legend: (s, idx) => pct(raw[order[s]][idx]),
    }),
  );
  const rebalances = new Map<string, AllocationsRead>();
  for (const r of reads) rebalances.set(r.rebalance_date, r);
  const rows = [...rebalances.values()].reverse().map((r) => [r.rebalance_date, r.rebalance_trigger, r.allocations.slice(0, 3).map((a) => `${a.symbol} ${pct(a.weight)}`).join(", ")]);
  return [
    chart,
    h("h3", {}, "Rebalances in effect at the month ends"),
    table(["Rebalance", "Trigger", "Largest targets"], rows),
  ];
}

export function allocationsPage(main: HTMLElement): void {
  const current = h("div");
  const targets = h("div");
  main.replaceChildren(h("h1", {}, "Allocations"), section("Current weights", current), section("Target weights over time", targets));
  const now = get<Current>("/v1/index/current");
  void load(current, () => now, weightsTable);
  void load(
    targets,
    async () => {
      const latest = await now;
      const dates = monthEnds(latest.date, SAMPLES);
      const reads = await pool(dates.map((d) => () => get<AllocationsRead>(`/v1/index/allocations?date=${d}`)), 6);
      return reads.filter((r): r is AllocationsRead => r !== null);
    },
    targetsOverTime,
  );
}

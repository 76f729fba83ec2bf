// Compare: the index against its benchmark over a chosen period, metrics side by side.
import { get, query } from "../api";
import { lineChart } from "../charts";
import { epoch, pct, ratioFmt } from "../fmt";
import { empty, field, h, load, section, table } from "../ui";
import type { PeriodMetrics } from "./index";

interface Compare {
  benchmark: string;
  return_type: "price" | "total";
  start: string;
  end: string;
  index: PeriodMetrics;
  benchmark_metrics: PeriodMetrics;
  difference: Record<string, number | null>;
}
interface Series {
  items: { date: string; value: number }[];
}

const ROWS: [string, string, (v: number | null) => string][] = [
  ["total_return", "Total return", pct],
  ["annualized_return", "Annualised return", pct],
  ["annualized_volatility", "Volatility (annualised)", pct],
  ["sharpe_ratio", "Sharpe ratio", ratioFmt],
  ["sortino_ratio", "Sortino ratio", ratioFmt],
  ["max_drawdown", "Max drawdown", pct],
  ["calmar_ratio", "Calmar ratio", ratioFmt],
  ["var_95", "VaR 95 % (daily)", pct],
  ["cvar_95", "CVaR 95 % (daily)", pct],
  ["beta", "Beta", ratioFmt],
  ["correlation", "Correlation", ratioFmt],
  ["tracking_error", "Tracking error", pct],
  ["information_ratio", "Information ratio", ratioFmt],
];

function metrics(c: Compare): HTMLElement {
  const cell = (m: PeriodMetrics, key: string, fmt: (v: number | null) => string): string => {
    const value = m[key] as number | null | undefined;
    if ((value === null || value === undefined) && !m.annualized && key.startsWith("annualized")) return "too short to annualise";
    return fmt(value ?? null);
  };
  const rows = ROWS.map(([key, label, fmt]) => [label, cell(c.index, key, fmt), cell(c.benchmark_metrics, key, fmt), key in c.difference ? fmt(c.difference[key]) : "—"]);
  // The Index page shows price or total return; say which one these figures are, or the two pages seem to disagree.
  const kind = c.return_type === "total" ? "total return (dividends reinvested)" : "price return (closes only)";
  // `observations` counts daily returns: one fewer than the trading days of the range.
  return table(["Metric", "Index", c.benchmark, "Difference"], rows, `${c.start} → ${c.end}: ${kind}, ${c.index.observations} daily returns`);
}

function chart(index: Series, bench: Series, benchmark: string): HTMLElement {
  if (!index.items.length) return empty("No index values in this period.");
  const host = h("div", { class: "chart", "data-chart": "compare" });
  const byDate = new Map(bench.items.map((i) => [i.date, i.value]));
  const i0 = index.items[0].value;
  const b0 = byDate.get(index.items[0].date) ?? bench.items[0]?.value ?? 1;
  queueMicrotask(() =>
    lineChart(host, {
      title: `Rebased to 100 on ${index.items[0].date}`,
      times: index.items.map((i) => epoch(i.date)),
      series: [
        { label: "Index", values: index.items.map((i) => (i.value / i0) * 100) },
        { label: benchmark, values: index.items.map((i) => { const v = byDate.get(i.date); return v === undefined ? null : (v / b0) * 100; }) },
      ],
    }),
  );
  return host;
}

export function comparePage(main: HTMLElement): void {
  const start = h("input", { type: "date", name: "start" });
  const end = h("input", { type: "date", name: "end" });
  const form = h("form", { class: "row", "aria-label": "Period" }, field("From", start), field("To", end), h("button", { type: "submit" }, "Compare"));
  const table = h("div");
  const plot = h("div");
  main.replaceChildren(h("h1", {}, "Compare"), section("Index against benchmark", form, plot, table));
  const run = (): void => {
    const range = query({ start: start.value, end: end.value });
    const compare = get<Compare>(`/v1/benchmark/compare${range}`);
    void load(table, () => compare, metrics);
    void load(
      plot,
      () => Promise.all([get<Series>(`/v1/index/history${query({ start: start.value, end: end.value, fields: "value" })}`), get<Series>(`/v1/benchmark/series${range}`), compare]),
      ([i, b, c]) => chart(i, b, c.benchmark),
    );
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  run();
}

// The index: value against the benchmark (both rebased to 100), drawdown, rolling volatility and
// Sharpe, and the period metrics. All four requests go out at once.
import { get } from "../api";
import { lineChart } from "../charts";
import { epoch, num, pct, ratioFmt } from "../fmt";
import { empty, h, load, section, table } from "../ui";

interface HistoryItem {
  date: string;
  value: number;
  drawdown?: number | null;
}
interface History {
  strategy_version: number;
  base_date: string;
  items: HistoryItem[];
}
interface BenchmarkSeries {
  benchmark: string; // the asset's symbol, or the blend the strategy names
  items: { date: string; value: number }[];
}
export interface PeriodMetrics {
  start_date: string;
  end_date: string;
  observations: number;
  total_return: number | null;
  annualized_return: number | null;
  annualized_volatility: number | null;
  sharpe_ratio: number | null;
  max_drawdown: number | null;
  annualized: boolean;
  reason: string | null;
  [key: string]: unknown;
}
interface RollingItem {
  date: string;
  annualized_volatility: number | null;
  sharpe_ratio: number | null;
}
interface RiskMetrics {
  strategy_version: number;
  as_of: string;
  benchmark: string | null;
  periods: Record<string, Record<string, PeriodMetrics>>;
  rolling: { window: number; items: RollingItem[] };
}

const PERIODS: [string, string][] = [["inception", "Since inception"], ["ytd", "Year to date"], ["1y", "1 year"], ["3y", "3 years"]];

function drawdowns(values: (number | null)[]): (number | null)[] {
  let peak = -Infinity;
  return values.map((v) => {
    if (v === null) return null;
    peak = Math.max(peak, v);
    return v / peak - 1;
  });
}

function byDate<T extends { date: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [item.date, item]));
}

function performanceCharts(history: History, bench: BenchmarkSeries): HTMLElement[] {
  if (!history.items.length) return [empty("The index has no values yet: an admin starts a refresh and a compute run.")];
  const dates = history.items.map((i) => i.date);
  const times = dates.map(epoch);
  const benchByDate = byDate(bench.items);
  const benchBase = benchByDate.get(dates[0])?.value ?? bench.items[0]?.value ?? 100;
  const benchValues = dates.map((d) => {
    const v = benchByDate.get(d)?.value;
    return v === undefined ? null : (v / benchBase) * 100;
  });
  const value = h("div", { class: "chart", "data-chart": "value" });
  const drawdown = h("div", { class: "chart", "data-chart": "drawdown" });
  queueMicrotask(() => {
    lineChart(value, {
      title: `Value, rebased to 100 on ${dates[0]}`,
      times,
      series: [
        { label: "Index", values: history.items.map((i) => i.value) },
        { label: bench.benchmark, values: benchValues },
      ],
    });
    lineChart(drawdown, {
      title: "Drawdown",
      times,
      format: (v) => pct(v),
      height: 200,
      series: [
        { label: "Index", values: history.items.map((i) => i.drawdown ?? null), fill: true },
        { label: bench.benchmark, values: drawdowns(benchValues) },
      ],
    });
    document.dispatchEvent(new CustomEvent("chart-drawn", { detail: "performance" }));
  });
  return [value, drawdown];
}

function rollingCharts(short: RiskMetrics, long: RiskMetrics): HTMLElement[] {
  const items = short.rolling.items;
  if (!items.length) return [empty("Not enough history for rolling metrics yet.")];
  const longByDate = byDate(long.rolling.items);
  const times = items.map((i) => epoch(i.date));
  const vol = h("div", { class: "chart", "data-chart": "volatility" });
  const sharpe = h("div", { class: "chart", "data-chart": "sharpe" });
  const a = short.rolling.window;
  const b = long.rolling.window;
  queueMicrotask(() => {
    lineChart(vol, {
      title: "Rolling volatility (annualised)",
      times,
      format: (v) => pct(v),
      height: 200,
      series: [
        { label: `${a}-day`, values: items.map((i) => i.annualized_volatility) },
        { label: `${b}-day`, values: items.map((i) => longByDate.get(i.date)?.annualized_volatility ?? null) },
      ],
    });
    lineChart(sharpe, {
      title: "Rolling Sharpe ratio",
      times,
      height: 200,
      series: [
        { label: `${a}-day`, values: items.map((i) => i.sharpe_ratio) },
        { label: `${b}-day`, values: items.map((i) => longByDate.get(i.date)?.sharpe_ratio ?? null) },
      ],
    });
    document.dispatchEvent(new CustomEvent("chart-drawn", { detail: "rolling" }));
  });
  return [vol, sharpe];
}

function annualised(m: PeriodMetrics | undefined, pick: (m: PeriodMetrics) => number | null, fmt: (v: number | null) => string): string | HTMLElement {
  if (!m) return "—";
  if (!m.annualized) return h("span", { class: "muted", title: m.reason || "" }, "too short to annualise");
  return fmt(pick(m));
}

export function metricsTable(metrics: RiskMetrics): HTMLElement {
  const who = [["index", "Index"], ["benchmark", metrics.benchmark || "Benchmark"]].filter(([key]) => metrics.periods[key]);
  const rows: (string | HTMLElement)[][] = [];
  for (const [period, label] of PERIODS) {
    for (const [key, name] of who) {
      const m = metrics.periods[key][period];
      rows.push([
        `${label} · ${name}`,
        m ? `${m.start_date} → ${m.end_date}` : "—",
        m ? pct(m.total_return) : "—",
        annualised(m, (x) => x.annualized_return, pct),
        annualised(m, (x) => x.annualized_volatility, pct),
        annualised(m, (x) => x.sharpe_ratio, ratioFmt),
        m ? pct(m.max_drawdown) : "—",
      ]);
    }
  }
  return table(["Period", "Dates", "Total return", "Annualised return", "Volatility", "Sharpe", "Max drawdown"], rows, `As of ${metrics.as_of}`);
}

let returnType: "price" | "total" = "price";

function returnToggle(onChange: () => void): HTMLElement {
  const option = (value: "price" | "total", label: string): HTMLElement => {
    const input = h("input", { type: "radio", name: "return-type", value, checked: returnType === value });
    input.addEventListener("change", () => {
      returnType = value;
      onChange();
    });
    return h("label", { class: "check" }, input, ` ${label}`);
  };
  return h(
    "fieldset",
    { class: "toggle" },
    h("legend", {}, "Returns"),
    option("price", "Price (closes only)"),
    option("total", "Total (dividends reinvested)"),
  );
}

export function indexPage(main: HTMLElement): void {
  const summary = h("div", { class: "kpis" });
  const perf = h("div", { class: "charts" });
  const rolling = h("div", { class: "charts" });
  const periods = h("div");
  const draw = (): void => {
    const kind = `return_type=${returnType}`;
    // All four requests go out at once; each section draws as soon as its own data is in.
    const history = get<History>(`/v1/index/history?fields=value,drawdown&${kind}`);
    const bench = get<BenchmarkSeries>(`/v1/benchmark/series?${kind}`);
    const short = get<RiskMetrics>(`/v1/strategy/risk-metrics?window=30&${kind}`);
    const long = get<RiskMetrics>(`/v1/strategy/risk-metrics?window=90&${kind}`);
    void load(summary, () => history, (hist) => {
      const last = hist.items[hist.items.length - 1];
      if (!last) return empty("No index values yet.");
      return [
        h("div", { class: "kpi" }, h("span", {}, returnType === "total" ? "Value (total return)" : "Value"), h("strong", {}, num(last.value))),
        h("div", { class: "kpi" }, h("span", {}, "As of"), h("strong", {}, last.date)),
        h("div", { class: "kpi" }, h("span", {}, "Strategy version"), h("strong", {}, String(hist.strategy_version))),
      ];
    });
    void load(perf, () => Promise.all([history, bench]), ([hist, b]) => performanceCharts(hist, b));
    void load(rolling, () => Promise.all([short, long]), ([s, l]) => rollingCharts(s, l));
    void load(periods, () => short, metricsTable);
  };
  main.replaceChildren(
    h("div", { class: "title-row" }, h("h1", {}, "Index"), returnToggle(draw)),
    summary,
    section("Performance", perf),
    section("Rolling risk", rolling),
    section("Period metrics", periods),
  );
  draw();
}

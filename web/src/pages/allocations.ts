// Allocations: today's drifted weights, target weights over time (stacked), and the rebalances seen.
import { get, query } from "../api";
import { lineChart, stack } from "../charts";
import { epoch, pct } from "../fmt";
import { empty, failure, h, load, section, table } from "../ui";

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
interface CapSource {
  source: "edgar" | "fund_assets" | "excluded" | "equal_fallback";
  filed: string | null;
}
interface Rebalance {
  date: string;
  kind: "formation" | "rebalance" | "skipped";
  trigger: "schedule" | "drift" | "request";
  turnover: number | null;
  cost: number | null;
  market_cap_leg: string;
  cap_sources: Record<string, CapSource>;
  notes: string[];
}
interface RebalancePage {
  strategy_version: number;
  items: Rebalance[];
  next_cursor: string | null;
}
interface AllocationsRead {
  date: string;
  rebalance_date: string;
  rebalance_trigger: string;
  allocations: Allocation[];
}

const SAMPLES = 12; // every other month end over two years: the API serves target weights one date per request
const PAGE = 20; // rebalances per page of the list

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
  return [chart];
}

const SOURCE_TEXT: Record<CapSource["source"], string> = {
  edgar: "SEC filing",
  fund_assets: "fund net assets",
  excluded: "excluded",
  equal_fallback: "equal-share fallback",
};

/** Cap sources grouped by kind ("SEC filing: AAPL (2024-05-02), MSFT"), fallbacks listed first. */
function capSources(sources: Record<string, CapSource>): string {
  const groups = new Map<string, string[]>();
  const order: CapSource["source"][] = ["equal_fallback", "excluded", "fund_assets", "edgar"];
  for (const [symbol, cap] of Object.entries(sources).sort(([a], [b]) => a.localeCompare(b))) {
    const list = groups.get(cap.source) ?? [];
    list.push(cap.filed ? `${symbol} (${cap.filed})` : symbol);
    groups.set(cap.source, list);
  }
  const parts = order.filter((k) => groups.has(k)).map((k) => `${SOURCE_TEXT[k]}: ${(groups.get(k) ?? []).join(", ")}`);
  return parts.length ? parts.join("; ") : "—";
}

function rebalanceItem(r: Rebalance): HTMLElement {
  const decision = r.kind === "skipped" ? "skipped" : r.kind === "formation" ? "formed" : "rebalanced";
  return h(
    "li",
    { class: `rebalance ${r.kind}`, "data-date": r.date },
    h("h3", {}, `${r.date}: ${decision}`, h("span", { class: "muted" }, ` (trigger: ${r.trigger})`)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Turnover"),
      h("dd", {}, pct(r.turnover)),
      h("dt", {}, "Cost"),
      h("dd", {}, pct(r.cost)),
      h("dt", {}, "Market-cap leg"),
      h("dd", {}, r.market_cap_leg),
      h("dt", {}, "Cap sources"),
      h("dd", {}, capSources(r.cap_sources)),
    ),
    r.notes.length ? h("ul", { class: "notes", "aria-label": `Notes on ${r.date}` }, ...r.notes.map((n) => h("li", {}, n))) : h("p", { class: "muted" }, "No notes."),
  );
}

/** The rebalances, oldest first as the API pages them (a cursor per page); "Show later" fetches the next page. */
function rebalanceList(slot: HTMLElement): void {
  const list = h("ol", { class: "rebalances" });
  const more = h("button", { type: "button", class: "secondary" }, "Show later rebalances");
  const status = h("div", { "aria-live": "polite" });
  let cursor: string | null = null;
  let loaded = 0;
  const fetchPage = async (): Promise<void> => {
    more.disabled = true;
    try {
      const page = await get<RebalancePage>(`/v1/index/rebalances${query({ limit: PAGE, cursor })}`);
      loaded += page.items.length;
      list.append(...page.items.map(rebalanceItem));
      cursor = page.next_cursor;
      status.replaceChildren(h("p", { class: "muted", role: "status" }, `${loaded} rebalances shown${cursor ? "" : ", all of them"} (strategy version ${page.strategy_version}).`));
      if (!loaded) status.replaceChildren(empty("No rebalances yet."));
      more.hidden = !cursor;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => {
    fetchPage().catch((error: unknown) => status.replaceChildren(failure(error)));
  });
  void load(
    slot,
    () => fetchPage(),
    () => [status, list, more],
  );
}

export function allocationsPage(main: HTMLElement): void {
  const current = h("div");
  const targets = h("div");
  const rebalances = h("div");
  main.replaceChildren(
    h("h1", {}, "Allocations"),
    section("Current weights", current),
    section("Target weights over time", targets),
    section("Rebalances", rebalances),
  );
  rebalanceList(rebalances);
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

// Admin (admins only): the strategy editor, refresh runs, data freshness, provider usage, the audit log.
import { get, post, query } from "../api";
import { isoDateTime, num } from "../fmt";
import { empty, errorText, field, h, load, section, table } from "../ui";
import { strategyEditor } from "./strategy";

interface Run {
  id: string;
  trigger: string;
  status: string;
  batches_total: number;
  batches_done: number;
  batches_failed: number;
  rows_written: number;
  rows_rejected: number;
  credits_used: number;
  errors: Record<string, string>;
  revisions?: { symbol: string; first_changed: string; factor: number; split: { date: string; ratio: number } | null }[];
  dividend_fallbacks?: Record<string, string>;
  created_at: string;
  finished_at: string | null;
}
interface Freshness {
  expected_through: string;
  stale_count: number;
  items: { symbol: string; asset_type: string; last_date: string | null; stale: boolean; frozen: boolean }[];
}
interface Usage {
  provider: string;
  minute_used: number;
  minute_limit: number;
  day_used: number;
  day_limit: number;
  circuit: string;
}
interface AuditItem {
  id: number;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  source_ip: string | null;
}
interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

function runs(list: Page<Run>): HTMLElement {
  if (!list.items.length) return empty("No refresh runs yet.");
  const rows = list.items.map((r) => {
    const errors = Object.entries(r.errors || {});
    return [
      isoDateTime(r.created_at),
      h("span", { "data-run-status": r.status }, r.status),
      r.trigger,
      h("progress", { max: Math.max(r.batches_total, 1), value: r.batches_done, "aria-label": `batches done of run ${r.id.slice(0, 8)}` }),
      `${r.batches_done}/${r.batches_total}${r.batches_failed ? ` (${r.batches_failed} failed)` : ""}`,
      num(r.rows_written).replace(/[.,]00$/, ""),
      num(r.credits_used).replace(/[.,]00$/, ""),
      errors.length ? h("ul", { class: "errors" }, ...errors.map(([symbol, message]) => h("li", {}, h("strong", {}, symbol), `: ${message}`))) : "none",
      runNotes(r),
    ];
  });
  return table(["Created", "Status", "Trigger", "Progress", "Batches", "Rows", "Credits", "Errors by symbol", "Notes"], rows);
}

// Why a run cost or changed more than a plain evening: histories replaced, and payers asked twice for dividends.
function runNotes(r: Run): HTMLElement | string {
  const notes = [
    ...(r.revisions || []).map((v) =>
      h("li", {}, h("strong", {}, v.symbol), v.split ? `: history re-based from ${v.split.date} (split ${v.split.ratio}:1)` : `: history revised from ${v.first_changed} (factor ${v.factor})`),
    ),
    ...Object.entries(r.dividend_fallbacks || {}).map(([symbol, reason]) => h("li", {}, h("strong", {}, symbol), `: dividends asked separately — ${reason}`)),
  ];
  return notes.length ? h("ul", { class: "notes" }, ...notes) : "none";
}

function freshness(f: Freshness): HTMLElement[] {
  const rows = f.items.map((i) => [i.symbol, i.asset_type, i.last_date || "—", i.frozen ? "frozen feed" : i.stale ? "stale" : "fresh"]);
  return [h("p", { class: f.stale_count ? "state error" : "ok" }, `Expected through ${f.expected_through}: ${f.stale_count} stale.`), table(["Symbol", "Type", "Last price", "State"], rows)];
}

function usage(u: Usage): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Provider"), h("dd", {}, u.provider),
    h("dt", {}, "This minute"), h("dd", {}, h("meter", { min: 0, max: u.minute_limit, value: u.minute_used, "aria-label": "credits used this minute" }), ` ${u.minute_used} / ${u.minute_limit}`),
    h("dt", {}, "Today"), h("dd", {}, h("meter", { min: 0, max: u.day_limit, value: u.day_used, "aria-label": "credits used today" }), ` ${u.day_used} / ${u.day_limit}`),
    h("dt", {}, "Circuit"), h("dd", {}, u.circuit),
  );
}

function auditLog(host: HTMLElement): HTMLElement {
  const action = h("input", { type: "text", name: "action", placeholder: "auth.login", pattern: "[a-z_.]+" });
  const outcome = h("select", { name: "outcome" }, ...["", "success", "failure", "denied"].map((v) => h("option", { value: v }, v || "any")));
  const since = h("input", { type: "date", name: "since" });
  const form = h("form", { class: "row", "aria-label": "Audit filters" }, field("Action", action), field("Outcome", outcome), field("Since", since), h("button", { type: "submit" }, "Filter"));
  const list = h("div");
  const more = h("div");
  const rowsOf = (items: AuditItem[]): (string | HTMLElement)[][] =>
    items.map((i) => [isoDateTime(i.occurred_at), i.action, h("span", { class: i.outcome === "success" ? "" : "state error" }, i.outcome), `${i.actor_type}${i.actor_id ? ` ${i.actor_id.slice(0, 8)}` : ""}`, i.target_type ? `${i.target_type} ${i.target_id ?? ""}` : "—", i.source_ip || "—"]);
  const fetchPage = (cursor: string | null): Promise<Page<AuditItem>> =>
    get<Page<AuditItem>>(`/v1/admin/audit${query({ limit: 25, action: action.value, outcome: outcome.value, since: since.value ? `${since.value}T00:00:00Z` : "", cursor })}`);
  const show = (page: Page<AuditItem>, append: boolean): void => {
    const body = list.querySelector("tbody");
    if (append && body) for (const row of rowsOf(page.items)) body.append(h("tr", {}, ...row.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))));
    else list.replaceChildren(page.items.length ? table(["When", "Action", "Outcome", "Actor", "Target", "Address"], rowsOf(page.items)) : empty("No audit events match."));
    more.replaceChildren();
    if (page.next_cursor) {
      const button = h("button", { type: "button", class: "secondary" }, "Load more");
      button.addEventListener("click", () => void fetchPage(page.next_cursor).then((next) => show(next, true)).catch((e) => more.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(e)))));
      more.append(button);
    }
  };
  const run = (): void => void load(list, () => fetchPage(null), (page) => { show(page, false); return [...list.childNodes] as HTMLElement[]; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  host.replaceChildren(form, list, more);
  run();
  return host;
}

export function adminPage(main: HTMLElement): void {
  const editor = h("div");
  const runList = h("div");
  const fresh = h("div");
  const use = h("div");
  const audit = h("div");
  const start = h("button", { type: "button" }, "Start a refresh");
  const startStatus = h("div", { "aria-live": "polite" });
  const loadRuns = (): Promise<void> => load(runList, () => get<Page<Run>>("/v1/admin/runs?limit=10"), runs);
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const accepted = await post<{ run_id: string; joined: boolean; batches_total: number }>("/v1/admin/refresh");
      startStatus.replaceChildren(h("p", { role: "status" }, `Run ${accepted.run_id.slice(0, 8)} ${accepted.joined ? "was already running" : "started"} (${accepted.batches_total} batches).`));
      // Follow it: the list refreshes until the run is no longer running.
      for (let i = 0; i < 60; i++) {
        await loadRuns();
        const status = runList.querySelector("[data-run-status]")?.getAttribute("data-run-status");
        if (status && status !== "running" && status !== "pending" && status !== "queued") break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch (error) {
      startStatus.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
    } finally {
      start.disabled = false;
    }
  });
  main.replaceChildren(
    h("h1", {}, "Admin"),
    section("Strategy", editor),
    section("Refresh runs", start, startStatus, runList),
    section("Data freshness", fresh),
    section("Provider usage", use),
    section("Audit log", audit),
  );
  strategyEditor(editor);
  void loadRuns();
  void load(fresh, () => get<Freshness>("/v1/admin/freshness"), freshness);
  void load(use, () => get<Usage>("/v1/admin/provider/usage"), usage);
  auditLog(audit);
}

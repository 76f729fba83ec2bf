// Simulate: an amount invested in the index in a currency, its value over time, and how much of the
// result came from the exchange rate rather than from the index itself.
import { get, post } from "../api";
import { lineChart } from "../charts";
import { epoch, money, pct } from "../fmt";
import { errorText, field, h, loading, section } from "../ui";

interface Currencies {
  base: string;
  items: { code: string }[];
}
interface Simulation {
  currency: string;
  amount: string;
  start_date: string;
  end_date: string;
  start_value: string;
  end_value: string;
  roi: number | null;
  start_value_usd: string;
  end_value_usd: string;
  roi_usd: number | null;
  series: { date: string; value: string; value_usd: string }[];
}

function result(sim: Simulation, base: string): HTMLElement[] {
  const fxEffect = sim.roi !== null && sim.roi_usd !== null ? (1 + sim.roi) / (1 + sim.roi_usd) - 1 : null;
  const kpis = h(
    "div",
    { class: "kpis" },
    h("div", { class: "kpi" }, h("span", {}, `Invested ${sim.start_date}`), h("strong", {}, money(sim.start_value, sim.currency))),
    h("div", { class: "kpi" }, h("span", {}, `Worth ${sim.end_date}`), h("strong", { "data-testid": "end-value" }, money(sim.end_value, sim.currency))),
    h("div", { class: "kpi" }, h("span", {}, `Return in ${sim.currency}`), h("strong", {}, pct(sim.roi))),
    h("div", { class: "kpi" }, h("span", {}, `Index's own return (${base})`), h("strong", {}, pct(sim.roi_usd))),
    h("div", { class: "kpi" }, h("span", {}, "Currency effect"), h("strong", { "data-testid": "fx-effect" }, pct(fxEffect))),
  );
  const chart = h("div", { class: "chart", "data-chart": "simulation" });
  // The index's own path in the chosen currency: the base-currency value at the starting exchange rate.
  const rate = Number(sim.start_value) / Number(sim.start_value_usd);
  queueMicrotask(() =>
    lineChart(chart, {
      title: `Value in ${sim.currency}`,
      times: sim.series.map((p) => epoch(p.date)),
      format: (v) => money(v, sim.currency),
      series: [
        { label: `Value in ${sim.currency}`, values: sim.series.map((p) => Number(p.value)) },
        { label: "Without the currency effect", values: sim.series.map((p) => Number(p.value_usd) * rate) },
      ],
    }),
  );
  return [kpis, chart];
}

export function simulatePage(main: HTMLElement): void {
  const amount = h("input", { type: "number", name: "amount", min: "0.01", step: "0.01", value: "10000", required: true, inputmode: "decimal" });
  const currency = h("select", { name: "currency" }, h("option", { value: "USD" }, "USD"));
  const start = h("input", { type: "date", name: "start", value: `${new Date().getUTCFullYear() - 3}-01-02`, required: true });
  const end = h("input", { type: "date", name: "end" });
  const submit = h("button", { type: "submit" }, "Simulate");
  const out = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "row", "aria-label": "Simulation" },
    field("Amount", amount),
    field("Currency", currency),
    field("Start date", start),
    field("End date (optional)", end),
    submit,
  );
  main.replaceChildren(h("h1", {}, "Simulate"), section("An investment in the index", form, out));
  let base = "USD";
  void get<Currencies>("/v1/currencies")
    .then((list) => {
      base = list.base;
      // The list names the base currency too (it needs no exchange rate): offer it once, first.
      const codes = [...new Set([list.base, ...list.items.map((c) => c.code)])];
      currency.replaceChildren(...codes.map((code) => h("option", { value: code }, code)));
    })
    .catch((error) => out.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    out.replaceChildren(loading("Simulating…"));
    try {
      const sim = await post<Simulation>("/v1/index/simulate", {
        amount: amount.value,
        currency: currency.value,
        start_date: start.value,
        end_date: end.value || null,
      });
      out.replaceChildren(...result(sim, base));
    } catch (error) {
      out.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
    } finally {
      submit.disabled = false;
    }
  });
}

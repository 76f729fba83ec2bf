// A tiny DOM helper and the loading / empty / error states every request shows.
import { ApiError } from "./api";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value);
    else if (key === "class") el.className = String(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

export function loading(label = "Loading…"): HTMLElement {
  return h("p", { class: "state loading", role: "status" }, label);
}

export function empty(text: string): HTMLElement {
  return h("p", { class: "state empty" }, text);
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = (error.problem.errors || [])
      .map((e) => {
        const where = (e.loc || []).filter((p) => p !== "body" && p !== "query").join(".");
        return where ? `${where}: ${e.msg}` : String(e.msg);
      })
      .join("; ");
    return fields ? `${error.message} (${fields})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function failure(error: unknown): HTMLElement {
  return h("p", { class: "state error", role: "alert" }, errorText(error));
}

/** Fills `slot` with a loading state, then whatever `render` makes of the data, or the problem's detail. */
export async function load<T>(slot: HTMLElement, fetcher: () => Promise<T>, render: (data: T) => Child | Child[]): Promise<void> {
  slot.replaceChildren(loading());
  slot.setAttribute("aria-busy", "true");
  try {
    const data = await fetcher();
    const out = render(data);
    slot.replaceChildren(...(Array.isArray(out) ? out : [out]).filter((c): c is Node | string => !!c));
  } catch (error) {
    slot.replaceChildren(failure(error));
  } finally {
    slot.removeAttribute("aria-busy");
  }
}

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function table(headers: string[], rows: (string | Node)[][], caption?: string): HTMLElement {
  // A wide table scrolls sideways on a narrow screen: focusable, so a keyboard can scroll it too.
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption || headers.slice(0, 3).join(", ") },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, ...headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))),
    ),
  );
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", {}, hint) : null);
}

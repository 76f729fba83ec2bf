// The strategy editor: a form built from the API's own schema (StrategyParams in the OpenAPI document),
// a diff against the active version, and the compute run that the change starts, followed to its end.
import { get, put } from "../api";
import { isoDateTime } from "../fmt";
import { errorText, field, h, loading } from "../ui";

type Schema = {
  type?: string;
  enum?: string[];
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  description?: string;
  title?: string;
  default?: unknown;
  $ref?: string;
  items?: Schema;
};
interface Document {
  components: { schemas: Record<string, { properties: Record<string, Schema>; required?: string[] }> };
}
type Params = Record<string, unknown>;
interface Active {
  version: number;
  params: Params;
  author: string | null;
  reason: string;
  created_at: string;
}
interface Accepted {
  version: number;
  compute_run_id: string;
  status: string;
}
interface ComputeRun {
  id: string;
  status: string;
  mode: string;
  days_added: number | null;
  error: string | null;
}

interface Control {
  element: HTMLElement;
  read: () => unknown;
}

function simpleType(schema: Schema): { kind: string; nullable: boolean; schema: Schema } {
  const options = schema.anyOf || [schema];
  const nullable = options.some((o) => o.type === "null");
  const main = options.find((o) => o.type !== "null") || schema;
  const kind = main.enum ? "enum" : main.type || (main.$ref ? "object" : "string");
  return { kind, nullable, schema: { ...main, description: schema.description, title: schema.title } };
}

function control(name: string, schema: Schema, value: unknown): Control {
  const { kind, nullable, schema: main } = simpleType(schema);
  if (kind === "enum") {
    const select = h("select", { name }, ...(main.enum || []).map((v) => h("option", { value: v, selected: v === value }, v)));
    return { element: select, read: () => select.value };
  }
  if (kind === "number" || kind === "integer") {
    const input = h("input", {
      type: "number",
      name,
      step: kind === "integer" ? "1" : "any",
      min: main.minimum ?? main.exclusiveMinimum,
      max: main.maximum,
      value: value === null || value === undefined ? "" : String(value),
      placeholder: nullable ? "none" : undefined,
      inputmode: "decimal",
    });
    return {
      element: input,
      // The browser's own checks stay off (novalidate): the API's problem details are what the admin sees.
      read: () => (input.value === "" ? (nullable ? null : "") : kind === "integer" ? Number.parseInt(input.value, 10) : Number(input.value)),
    };
  }
  if (kind === "boolean") {
    const box = h("input", { type: "checkbox", name, checked: value === true });
    return { element: box, read: () => box.checked };
  }
  const area = h("textarea", { name, rows: 3, spellcheck: "false" }, value === null || value === undefined ? "" : JSON.stringify(value));
  return {
    element: area,
    read: () => {
      const text = area.value.trim();
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch {
        return text; // sent as is: the API says what is wrong with it
      }
    },
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function diffList(active: Params, next: Params): HTMLElement {
  const changed = Object.keys({ ...active, ...next }).filter((k) => !same(active[k], next[k]));
  if (!changed.length) return h("p", { class: "muted" }, "No change from the active version.");
  return h(
    "ul",
    { class: "diff" },
    ...changed.map((k) => h("li", {}, h("code", {}, k), ": ", h("del", {}, JSON.stringify(active[k] ?? null)), " → ", h("ins", {}, JSON.stringify(next[k] ?? null)))),
  );
}

async function follow(runId: string, out: HTMLElement): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const run = await get<ComputeRun>(`/v1/admin/compute-runs/${runId}`);
    const done = run.status === "succeeded" || run.status === "failed";
    out.replaceChildren(
      h(
        "p",
        { class: run.status === "failed" ? "state error" : done ? "ok" : "state", role: "status", "data-run-status": run.status },
        `Compute run ${run.id.slice(0, 8)}: ${run.status}`,
        run.days_added !== null ? ` (${run.days_added} days)` : "",
        run.error ? ` — ${run.error}` : "",
      ),
    );
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function strategyEditor(host: HTMLElement): void {
  host.replaceChildren(loading());
  void Promise.all([get<Document>("/docs/openapi.json"), get<Active>("/v1/strategy/config")])
    .then(([doc, active]) => {
      const props = doc.components.schemas.StrategyParams.properties;
      // A version stored before a parameter existed leaves it out and runs on its default: compare against
      // that, or the diff lists every newer parameter as a change nobody made.
      active.params = Object.fromEntries(Object.entries(props).map(([name, schema]) => [name, active.params[name] ?? schema.default ?? null]));
      const controls = new Map<string, Control>();
      const fields = Object.entries(props).map(([name, schema]) => {
        const c = control(name, schema, active.params[name]);
        controls.set(name, c);
        return field(schema.title || name, c.element, schema.description);
      });
      const reason = h("input", { type: "text", name: "reason", required: true, minlength: 3, maxlength: 500 });
      const activeLine = h("p", { class: "muted" }, `Active: version ${active.version}, ${isoDateTime(active.created_at)} — ${active.reason}`);
      const diff = h("div", { "aria-live": "polite" });
      const out = h("div", { "aria-live": "polite" });
      const submit = h("button", { type: "submit" }, "Submit new version");
      const values = (): Params => Object.fromEntries([...controls].map(([k, c]) => [k, c.read()]));
      const form = h(
        "form",
        { class: "strategy", "aria-label": "Strategy parameters", novalidate: true },
        activeLine,
        h("div", { class: "grid" }, ...fields),
        h("h3", {}, "Changes against the active version"),
        diff,
        field("Reason for the change", reason),
        submit,
        out,
      );
      const redraw = (): void => diff.replaceChildren(diffList(active.params, values()));
      form.addEventListener("input", redraw);
      form.addEventListener("change", redraw);
      redraw();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        submit.disabled = true;
        out.replaceChildren(loading("Submitting…"));
        try {
          const accepted = await put<Accepted>("/v1/strategy/config", { params: values(), reason: reason.value });
          out.replaceChildren(h("p", { role: "status" }, `Version ${accepted.version} accepted; computing…`));
          await follow(accepted.compute_run_id, out);
          active.version = accepted.version; // the new version is the active one: the diff starts again from it
          active.params = values();
          activeLine.textContent = `Active: version ${accepted.version} — ${reason.value}`;
          redraw();
        } catch (error) {
          out.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
        } finally {
          submit.disabled = false;
        }
      });
      host.replaceChildren(form);
    })
    .catch((error) => host.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error))));
}

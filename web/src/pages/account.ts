// Account: who you are, your API keys (the secret shown once, with a copy button), and your sessions.
import { del, get, post, query } from "../api";
import { isoDateTime } from "../fmt";
import type { Me } from "../session";
import { empty, errorText, field, h, load, section, table } from "../ui";

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface Session {
  id: string;
  started_at: string;
  last_refreshed_at: string;
  expires_at: string;
  current: boolean;
}
interface Created extends ApiKey {
  key: string;
}

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

// Both lists are paged; the page shows them whole (the live keys among revoked ones, "This browser" among
// the sessions), so it follows the cursor to the end, with a bound in case a list keeps growing meanwhile.
const MAX_PAGES = 20;
async function everyItem<T>(path: string): Promise<{ items: T[] }> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < MAX_PAGES; n++) {
    const page: Page<T> = await get<Page<T>>(`${path}${query({ limit: 100, cursor })}`);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { items };
}

function secretOnce(created: Created): HTMLElement {
  const secret = h("input", { type: "text", readonly: true, value: created.key, class: "secret", "aria-label": "The new API key" });
  const status = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button", class: "secondary" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      status.textContent = "Copied.";
    } catch {
      secret.select();
      status.textContent = "Select the key and copy it (the browser refused clipboard access).";
    }
  });
  return h(
    "div",
    { class: "callout", role: "alert" },
    h("p", {}, h("strong", {}, `Key “${created.name}” created. `), "Copy it now: it is shown only this once."),
    h("div", { class: "row" }, secret, copy, status),
  );
}

function keyList(keys: ApiKey[], refresh: () => void, notice: HTMLElement): HTMLElement {
  const live = keys.filter((k) => !k.revoked_at);
  if (!live.length) return empty("No API keys yet.");
  const rows = live.map((k) => {
    const revoke = h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${k.name}` }, "Revoke");
    revoke.addEventListener("click", async () => {
      if (!confirm(`Revoke the key “${k.name}”? Clients using it stop working at once.`)) return;
      try {
        await del(`/v1/auth/api-keys/${k.id}`);
        notice.replaceChildren(h("p", { class: "ok", role: "status" }, `Key “${k.name}” revoked.`));
        refresh();
      } catch (error) {
        notice.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
      }
    });
    return [k.name, `${k.prefix}…`, k.scopes.join(", "), isoDateTime(k.created_at), isoDateTime(k.last_used_at), k.expires_at ? isoDateTime(k.expires_at) : "never", revoke];
  });
  return table(["Name", "Prefix", "Scopes", "Created", "Last used", "Expires", ""], rows);
}

function sessionList(sessions: Session[], refresh: () => void, notice: HTMLElement): HTMLElement {
  if (!sessions.length) return empty("No signed-in sessions.");
  const rows = sessions.map((s) => {
    const label = s.current ? "This browser" : `Session started ${isoDateTime(s.started_at)}`;
    const end = h("button", { type: "button", class: "secondary", "aria-label": `Sign out: ${label}` }, "Sign out");
    end.addEventListener("click", async () => {
      if (!confirm(s.current ? "Sign out of this browser?" : "End this session? Its device is signed out at once.")) return;
      try {
        await del(`/v1/auth/sessions/${s.id}`);
        if (s.current) {
          location.reload();
          return;
        }
        notice.replaceChildren(h("p", { class: "ok", role: "status" }, "Session ended."));
        refresh();
      } catch (error) {
        notice.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
      }
    });
    const who = s.current ? h("strong", {}, "This browser") : "Another sign-in";
    return [who, isoDateTime(s.started_at), isoDateTime(s.last_refreshed_at), isoDateTime(s.expires_at), end];
  });
  return table(["Session", "Signed in", "Last refreshed", "Ends at the latest", ""], rows, "Signed-in sessions");
}

export function accountPage(main: HTMLElement, me: Me): void {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 64, pattern: "[\\w .:@\\/\\-]+" });
  const scopes = ["read", "write", ...(me.role === "admin" ? ["admin"] : [])].map((scope) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "scope", value: scope, checked: scope === "read" }), ` ${scope}`),
  );
  const expires = h("input", { type: "number", name: "expires", min: 1, max: 365, inputmode: "numeric" });
  const submit = h("button", { type: "submit" }, "Create key");
  const notice = h("div", { "aria-live": "polite" });
  const list = h("div");
  const form = h(
    "form",
    { "aria-label": "New API key" },
    h("div", { class: "row" }, field("Name", name), field("Expires in days (optional)", expires)),
    h("fieldset", { class: "scopes" }, h("legend", {}, "Scopes"), ...scopes),
    submit,
  );
  const refresh = (): void => void load(list, () => everyItem<ApiKey>("/v1/auth/api-keys"), (d) => keyList(d.items, refresh, notice));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const chosen = [...form.querySelectorAll<HTMLInputElement>("input[name=scope]:checked")].map((i) => i.value);
      const created = await post<Created>("/v1/auth/api-keys", { name: name.value, scopes: chosen, expires_in_days: expires.value ? Number(expires.value) : null });
      notice.replaceChildren(secretOnce(created));
      name.value = "";
      refresh();
    } catch (error) {
      notice.replaceChildren(h("p", { class: "state error", role: "alert" }, errorText(error)));
    } finally {
      submit.disabled = false;
    }
  });
  const sessionNotice = h("div", { "aria-live": "polite" });
  const sessionSlot = h("div");
  const refreshSessions = (): void =>
    void load(sessionSlot, () => everyItem<Session>("/v1/auth/sessions"), (d) => sessionList(d.items, refreshSessions, sessionNotice));
  const everywhere = h("button", { type: "button", class: "secondary" }, "Sign out everywhere");
  const sessionStatus = h("p", { role: "status" });
  everywhere.addEventListener("click", async () => {
    if (!confirm("End every session of this account, on every device (this one too)?")) return;
    try {
      const done = await post<{ sessions_ended: number }>("/v1/auth/logout-all");
      sessionStatus.textContent = `${done.sessions_ended} sessions ended.`;
      location.reload();
    } catch (error) {
      sessionStatus.textContent = errorText(error);
    }
  });
  main.replaceChildren(
    h("h1", {}, "Account"),
    section("You", h("dl", { class: "facts" }, h("dt", {}, "E-mail"), h("dd", {}, me.email), h("dt", {}, "Role"), h("dd", {}, me.role))),
    section("API keys", form, notice, list),
    section(
      "Sessions",
      sessionNotice,
      sessionSlot,
      h("p", {}, "To end every session of this account, this browser's too:"),
      everywhere,
      sessionStatus,
    ),
  );
  refresh();
  refreshSessions();
}

// Drives the dashboard in the system Chromium (playwright-core: no browser download).
// Usage: node tests/e2e.mjs --base URL --email E --password P --admin-email E --admin-password P --out DIR
// Prints one JSON line per step ({"step": ..., "ok": true, ...}) and exits non-zero on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    email: { type: "string" },
    password: { type: "string" },
    "admin-email": { type: "string" },
    "admin-password": { type: "string" },
    out: { type: "string", default: "var/screenshots" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
  },
});
mkdirSync(args.out, { recursive: true });

const results = [];
function report(step, extra = {}) {
  const line = { step, ok: true, ...extra };
  results.push(line);
  console.log(JSON.stringify(line));
}

// A stuck step must not hang the run: the whole script gives up after 4 minutes.
setTimeout(() => {
  console.log(JSON.stringify({ step: "failed", ok: false, error: "the browser script ran out of time (240 s)" }));
  process.exit(2);
}, 240_000).unref();

const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const problems = [];
const allowed = [["/v1/auth/register", 422], ["/v1/auth/session/login", 401], ["/v1/index/simulate", 422], ["/v1/auth/me", 401], ["/v1/strategy/config", 422]];
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const accessibility = {}; // route -> serious or critical violations

/** axe-core over the page as it is now; evaluated through the DevTools protocol, so the page's CSP stays on. */
async function audit(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const run = await window.axe.run(document, { resultTypes: ["violations"] });
    return run.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  accessibility[name] = result;
}

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB", ...options });
  const page = await context.newPage();
  page.on("console", (message) => {
    // Requests a step makes fail on purpose are listed in `allowed`; any other error fails the run.
    const expected = allowed.some(([path, status]) => message.location().url.includes(path) && message.text().includes(`status of ${status}`));
    if (message.type() === "error" && !expected) problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return page;
}

async function shot(page, name, options = {}) {
  await page.screenshot({ path: join(args.out, `${name}.png`), fullPage: true, ...options });
}

let shared = null; // one signed-in page for the page-by-page steps

async function signedIn() {
  if (!shared) {
    shared = await newPage();
    await shared.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: args.base });
    shared.on("dialog", (dialog) => dialog.accept());
    await signIn(shared, args.email, args.password);
  }
  return shared;
}

async function visit(page, route, heading) {
  await page.goto(`${args.base}/#/${route}`);
  await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
  await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
}

async function signIn(page, email, password) {
  await page.goto(args.base + "/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  const started = Date.now();
  const drawn = page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = new Set();
        document.addEventListener("chart-drawn", (event) => {
          seen.add(event.detail);
          if (seen.has("performance") && seen.has("rolling")) resolve(performance.now());
        });
      }),
  );
  await page.getByRole("button", { name: "Sign in" }).click();
  // Charts drawn, or the first error state the page shows (a failed request never draws its chart).
  const failed = page.locator(".state.error").first().waitFor({ timeout: 60_000 }).then(async () => {
    throw new Error(`the index page shows an error: ${await page.locator(".state.error").first().textContent()}`);
  });
  await Promise.race([drawn, failed]);
  failed.catch(() => {});
  return Date.now() - started;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const steps = {
  async signInFailure() {
    const page = await newPage();
    await page.goto(args.base + "/");
    // Keyboard only: the e-mail field has the focus, Tab reaches the password, Enter submits.
    await page.getByLabel("E-mail").waitFor();
    await page.keyboard.type(args.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type("not-the-password-at-all");
    await page.keyboard.press("Enter");
    const status = page.locator(".form-status.error");
    await status.waitFor();
    const text = await status.textContent();
    check(/password|credentials|invalid/i.test(text || ""), `the sign-in error shows the problem detail, got ${text}`);
    // The skip link is the first stop and moves the focus to the main region.
    const first = await page.evaluate(() => document.querySelector("a[href], button, input, select, textarea")?.textContent);
    check(first === "Skip to content", `the skip link is the first stop in the tab order (${first})`);
    await page.locator(".skip").focus();
    await page.keyboard.press("Enter");
    check(await page.evaluate(() => document.activeElement?.id === "main"), "the skip link moves the focus to the main region");
    check(await page.evaluate(() => location.hash !== "#main"), "the skip link leaves the route alone");
    await shot(page, "sign-in");
    await audit(page, "sign-in");
    await page.context().close();
    report("sign-in refused shows the problem detail", { detail: text });
  },

  async register() {
    const page = await newPage();
    await page.goto(args.base + "/#/register");
    await page.getByRole("heading", { name: "Register" }).waitFor();
    await page.getByLabel("E-mail").fill(`new-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Register" }).click();
    const refusal = page.locator(".form-status.error");
    await refusal.waitFor();
    const detail = await refusal.textContent();
    check(/12/.test(detail || ""), `a weak password shows the API's rule: ${detail}`);
    await page.getByLabel("Password").fill("Copper-kettle-sings-at-dawn-3");
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: "Index", level: 1 }).waitFor();
    await page.context().close();
    report("registering signs the new account in", { refusal: detail });
  },

  async index() {
    const page = await newPage();
    const ms = await signIn(page, args.email, args.password);
    check((await page.locator(".u-wrap canvas").count()) >= 4, "four charts are drawn on the index page");
    const table = page.locator("section[aria-labelledby=h-period-metrics] table");
    await table.first().waitFor();
    const cells = await table.first().textContent();
    await shot(page, "index");
    await audit(page, "index");
    // Price or total return: the same page redrawn from the total-return series.
    const kpi = page.locator(".kpi strong").first();
    const price = await kpi.textContent();
    const redrawn = page.evaluate(() => new Promise((resolve) => document.addEventListener("chart-drawn", resolve, { once: true })));
    await page.getByLabel("Total (dividends reinvested)").check();
    await Promise.race([
      redrawn,
      page.locator(".state.error").first().waitFor({ timeout: 60_000 }).then(async () => {
        throw new Error(`total return: ${await page.locator(".state.error").first().textContent()}`);
      }),
    ]);
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    const total = await kpi.textContent();
    check(total !== price, `the total-return value differs from the price value (${price} vs ${total})`);
    check(/Since inception/.test(cells || ""), `the period metrics table lists the inception period: ${cells}`);
    check(/%/.test(cells || ""), "the period metrics are percentages");
    await shot(page, "index");
    await page.context().close();
    report("sign-in, then the index page draws its charts", { sign_in_to_charts_ms: ms, price, total });
  },

  async session() {
    const page = await newPage();
    await signIn(page, args.email, args.password);
    const cookies = await page.context().cookies();
    const refresh = cookies.find((c) => c.name === "autoindex_refresh");
    check(refresh, "the session cookie is set");
    check(refresh.httpOnly && refresh.secure && refresh.sameSite === "Strict", `cookie flags: ${JSON.stringify(refresh)}`);
    check(refresh.path === "/v1/auth/session", `the cookie is scoped to the session routes: ${refresh.path}`);
    check(!(await page.evaluate(() => document.cookie)).includes("autoindex_refresh"), "no script can read the cookie");
    await page.reload();
    await page.getByRole("heading", { name: "Index", level: 1 }).waitFor();
    check((await page.getByLabel("Password").count()) === 0, "a reload keeps the session (no sign-in form)");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    check(!(await page.context().cookies()).some((c) => c.name === "autoindex_refresh" && c.value), "sign-out clears the cookie");
    await page.context().close();
    report("a reload keeps the session; sign-out ends it");
  },

  async allocations() {
    const page = await signedIn();
    await visit(page, "allocations", "Allocations");
    check((await page.locator("meter").count()) >= 2, "the current weights are listed with a meter each");
    await page.locator("[data-chart=targets] canvas").first().waitFor();
    const first = page.locator("ol.rebalances > li").first();
    await first.waitFor();
    const shown = (await first.textContent()) || "";
    check(/trigger: (schedule|drift|request)/.test(shown), `a rebalance shows its trigger: ${shown.slice(0, 200)}`);
    check(/Market-cap leg/.test(shown) && /Turnover/.test(shown), "a rebalance shows its turnover and market-cap leg");
    const notes = await page.locator("ol.rebalances ul.notes li").count();
    check(notes >= 1, `the rebalances' notes are shown (${notes})`);
    await shot(page, "allocations");
    await audit(page, "allocations");
    report("the allocations page shows current and target weights");
  },

  async simulate() {
    const page = await signedIn();
    await visit(page, "simulate", "Simulate");
    await page.locator("select[name=currency] option[value=EUR]").waitFor({ state: "attached" });
    const codes = await page.locator("select[name=currency] option").allTextContents();
    check(new Set(codes).size === codes.length && codes[0] === "USD", `each currency is offered once, the base first: ${codes}`);
    await page.getByLabel("Currency").selectOption("EUR");
    await page.getByLabel("Amount").fill("1000");
    await page.getByLabel("Start date").fill("2024-01-02");
    await page.getByLabel("End date (optional)").fill("2023-01-02");
    await page.getByRole("button", { name: "Simulate" }).click();
    const error = page.locator(".state.error");
    await error.waitFor();
    const detail = await error.textContent();
    check(/start must not be after end/i.test(detail || ""), `an impossible period shows the problem detail: ${detail}`);
    await page.getByLabel("End date (optional)").fill("");
    await page.getByRole("button", { name: "Simulate" }).click();
    await page.locator("[data-testid=end-value]").waitFor();
    const end = await page.locator("[data-testid=end-value]").textContent();
    check(/€/.test(end || ""), `the value is in euros: ${end}`);
    await page.locator("[data-chart=simulation] canvas").first().waitFor();
    const fx = await page.locator("[data-testid=fx-effect]").textContent();
    check(/%/.test(fx || ""), `the currency effect is shown: ${fx}`);
    await shot(page, "simulate");
    await audit(page, "simulate");
    report("the simulation shows the value in a currency and the currency effect", { end_value: end, currency_effect: fx, error: detail });
  },

  async compare() {
    const page = await signedIn();
    await visit(page, "compare", "Compare");
    const metrics = page.locator("section table").last();
    check(/Sharpe ratio/.test((await metrics.textContent()) || ""), "the metrics are side by side");
    const caption = (await metrics.locator("caption").textContent()) || "";
    check(/price return/.test(caption) && /daily returns/.test(caption), `the metrics say which return they measure: ${caption}`);
    await page.locator("[data-chart=compare] canvas").first().waitFor();
    await shot(page, "compare");
    await audit(page, "compare");
    const last = await page.evaluate(() => new Date(Date.now() - 90 * 86400000).toISOString().slice(0, 10));
    await page.getByLabel("From").fill(last);
    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    await page.getByText("too short to annualise").first().waitFor();
    report("the compare page shows index and benchmark side by side");
  },

  async account() {
    const page = await signedIn();
    await visit(page, "account", "Account");
    await page.getByLabel("Name").fill("e2e-reporting");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByLabel("The new API key");
    await secret.waitFor();
    const key = await secret.inputValue();
    check(key.length > 20, "the new key is shown once");
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied.").waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === key, "the copy button copies the key");
    await page.getByRole("cell", { name: "e2e-reporting" }).waitFor();
    await shot(page, "account", { mask: [secret] });
    await audit(page, "account");
    const status = await page.evaluate(async (k) => (await fetch("/v1/auth/me", { headers: { "X-API-Key": k } })).status, key);
    check(status === 200, `the new key works (${status})`);
    await page.getByRole("button", { name: "Revoke e2e-reporting" }).click();
    await page.getByText("Key “e2e-reporting” revoked.").waitFor();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    check((await page.getByRole("cell", { name: "e2e-reporting" }).count()) === 0, "a revoked key leaves the list");
    const after = await page.evaluate(async (k) => (await fetch("/v1/auth/me", { headers: { "X-API-Key": k } })).status, key);
    check(after === 401, `a revoked key is refused (${after})`);
    // Sessions: a second sign-in elsewhere is listed beside this browser's and can be ended from here.
    const other = await page.evaluate(async ([email, password]) => {
      const answer = await fetch("/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) });
      return (await answer.json()).access_token;
    }, [args.email, args.password]);
    await page.reload(); // the same #/account address: a reload draws the list again, with the new sign-in
    await page.getByRole("heading", { name: "Account", level: 1 }).waitFor();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    await page.getByRole("cell", { name: "This browser" }).waitFor();
    const endOther = page.getByRole("button", { name: /^Sign out: Session started/ }).first();
    await endOther.click();
    await page.getByText("Session ended.").waitFor();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    const ended = await page.evaluate(async (t) => (await fetch("/v1/auth/me", { headers: { Authorization: `Bearer ${t}` } })).status, other);
    check(ended === 401, `the ended session's token is refused (${ended})`);
    check((await page.getByRole("cell", { name: "This browser" }).count()) === 1, "this browser's session stays");
    report("API keys: created (shown once, copied), listed, revoked");
  },

  async admin() {
    const user = await signedIn();
    check((await user.getByRole("link", { name: "Admin" }).count()) === 0, "a user sees no Admin link");
    await user.goto(`${args.base}/#/admin`);
    await user.getByRole("heading", { name: "Not found" }).waitFor();

    const page = await newPage();
    page.on("dialog", (dialog) => dialog.accept());
    await signIn(page, args["admin-email"], args["admin-password"]);
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByRole("heading", { name: "Admin", level: 1 }).waitFor();
    const form = page.getByRole("form", { name: "Strategy parameters" });
    await form.waitFor();
    const untouched = await form.locator("ul.diff li").allTextContents();
    check(untouched.length === 0, `an untouched editor shows no change: ${untouched}`);
    // An invalid change: the API's problem details are shown as they are.
    await page.getByLabel("Momentum Weight", { exact: true }).fill("0.9");
    await page.getByLabel("Reason for the change").fill("browser test: an invalid blend");
    await page.getByRole("button", { name: "Submit new version" }).click();
    const refusal = form.locator(".state.error");
    await refusal.waitFor();
    const detail = await refusal.textContent();
    check(/must sum to 1/.test(detail || ""), `the editor shows the API's validation message: ${detail}`);
    // A valid change: the diff names it, and the compute run it starts is followed to its end.
    await page.getByLabel("Momentum Weight", { exact: true }).fill("0.4");
    const frequency = page.getByLabel("Rebalance Frequency", { exact: true });
    await frequency.selectOption((await frequency.inputValue()) === "monthly" ? "weekly" : "monthly");
    const diff = await form.locator("ul.diff").textContent();
    check(/rebalance_frequency/.test(diff || "") && (await form.locator("ul.diff li").count()) === 1, `the diff shows only the change: ${diff}`);
    await page.getByLabel("Reason for the change").fill("browser test: another rebalancing frequency");
    await page.getByRole("button", { name: "Submit new version" }).click();
    await form.locator("[data-run-status=succeeded]").waitFor({ timeout: 90_000 });
    await shot(page, "admin-strategy");
    // A refresh run, followed until it ends; its errors are listed per symbol (none with the demo data).
    await page.getByRole("button", { name: "Start a refresh" }).click();
    await page.getByText(/Run [0-9a-f]{8} (started|was already running)/).waitFor();
    await page.waitForFunction(() => {
      const status = document.querySelector("section[aria-labelledby=h-refresh-runs] [data-run-status]");
      return status && !["running", "pending", "queued"].includes(status.getAttribute("data-run-status"));
    }, null, { timeout: 90_000 });
    const runHeads = await page.locator("section[aria-labelledby=h-refresh-runs] thead th").allTextContents();
    check(runHeads.includes("Credits") && runHeads.includes("Notes"), `each run shows its credits and notes: ${runHeads}`);
    await page.getByText(/Expected through \d{4}-\d{2}-\d{2}/).waitFor();
    await page.getByText("Circuit").waitFor();
    // The audit log, filtered.
    await page.getByLabel("Action", { exact: true }).fill("strategy.update");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    const rows = page.locator("section[aria-labelledby=h-audit-log] tbody tr");
    await rows.first().waitFor();
    const actions = await rows.locator("td:nth-child(2)").allTextContents();
    check(actions.length >= 1 && actions.every((a) => a === "strategy.update"), `the filter keeps strategy.update only: ${actions}`);
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    await shot(page, "admin");
    await audit(page, "admin");
    await page.context().close();
    report("admin: strategy editor (problem details, diff, compute run), refresh run, freshness, usage, audit filter", { validation: detail });
  },

  async narrow() {
    const page = await newPage({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
    await signIn(page, args.email, args.password);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `the page fits 375 px without a horizontal scroll (overflow ${overflow} px)`);
    await shot(page, "index-375px");
    await page.context().close();
    report("the index page fits a 375 px screen");
  },

  async dark() {
    const page = await newPage({ colorScheme: "dark" });
    await signIn(page, args.email, args.password);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(background !== "rgb(246, 247, 249)", `the dark theme follows the system (background ${background})`);
    await shot(page, "index-dark");
    await audit(page, "index-dark");
    await page.context().close();
    report("the dark theme follows the system setting");
  },

  async accessibility() {
    const serious = Object.entries(accessibility).filter(([, list]) => list.length);
    check(Object.keys(accessibility).length >= 8, `axe ran on every page: ${Object.keys(accessibility)}`);
    check(!serious.length, `serious or critical accessibility violations: ${JSON.stringify(serious)}`);
    report("axe-core finds no serious or critical violation", { pages: Object.keys(accessibility) });
  },
};

let failed = null;
try {
  for (const [name, step] of Object.entries(steps)) {
    try {
      await step();
    } catch (error) {
      failed = `${name}: ${error.message}`;
      break;
    }
  }
  if (!failed && problems.length) failed = `the browser reported errors: ${problems.join(" | ")}`;
} finally {
  await browser.close();
}
writeFileSync(join(args.out, "results.json"), JSON.stringify({ results, failed, problems }, null, 1));
if (failed) {
  console.log(JSON.stringify({ step: "failed", ok: false, error: failed }));
  process.exit(1);
}
console.log(JSON.stringify({ step: "done", ok: true, steps: results.length }));

// Drives the dashboard in the system Chromium (playwright-core: no browser download).
// Usage: node tests/e2e.mjs --base URL --email E --password P --admin-email E --admin-password P --out DIR
// Prints one JSON line per step ({"step": ..., "ok": true, ...}) and exits non-zero on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
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

const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const problems = [];

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB", ...options });
  const page = await context.newPage();
  page.on("console", (message) => {
    // A refused sign-in is a 401 on purpose; anything else logged as an error fails the run.
    const expected = message.location().url.endsWith("/v1/auth/session/login") && /status of 401/.test(message.text());
    if (message.type() === "error" && !expected) problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(args.out, `${name}.png`), fullPage: true });
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
  await drawn;
  return Date.now() - started;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const steps = {
  async signInFailure() {
    const page = await newPage();
    await page.goto(args.base + "/");
    await page.getByLabel("E-mail").fill(args.email);
    await page.getByLabel("Password").fill("not-the-password-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    const status = page.locator(".form-status.error");
    await status.waitFor();
    const text = await status.textContent();
    check(/password|credentials|invalid/i.test(text || ""), `the sign-in error shows the problem detail, got ${text}`);
    await page.context().close();
    report("sign-in refused shows the problem detail", { detail: text });
  },

  async index() {
    const page = await newPage();
    const ms = await signIn(page, args.email, args.password);
    check((await page.locator(".u-wrap canvas").count()) >= 4, "four charts are drawn on the index page");
    const table = page.locator("section[aria-labelledby=h-period-metrics] table");
    await table.first().waitFor();
    const cells = await table.first().textContent();
    await shot(page, "index");
    check(/Since inception/.test(cells || ""), `the period metrics table lists the inception period: ${cells}`);
    check(/%/.test(cells || ""), "the period metrics are percentages");
    await shot(page, "index");
    await page.context().close();
    report("sign-in, then the index page draws its charts", { sign_in_to_charts_ms: ms });
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
    await page.context().close();
    report("the dark theme follows the system setting");
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

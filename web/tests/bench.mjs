// Dashboard timings in the system Chromium (playwright-core), printed as one JSON line for bench/web_dashboard.py.
// - sign-in -> charts drawn on the Index page (fresh browser context each time), and the same requests
//   made straight from Node (the API's own floor for that page);
// - the history chart at 2,520 points x 3 series: first draw, and panning (one scale change per frame).
// Usage: node web/tests/bench.mjs --base URL --email E --password P [--runs 5]
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    email: { type: "string" },
    password: { type: "string" },
    runs: { type: "string", default: "5" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
  },
});
const runs = Number(args.runs);
const UPLOT = readFileSync(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
setTimeout(() => {
  console.error("bench: out of time (300 s)");
  process.exit(2);
}, 300_000).unref();

const browser = await chromium.launch({ executablePath: args.chromium, args: ["--no-sandbox", "--disable-dev-shm-usage"] });

async function signInToCharts() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(args.base + "/");
  await page.getByLabel("E-mail").fill(args.email);
  await page.getByLabel("Password").fill(args.password);
  const drawn = page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = new Set();
        document.addEventListener("chart-drawn", (event) => {
          seen.add(event.detail);
          if (seen.size === 2) resolve(performance.now());
        });
      }),
  );
  const clicked = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: "Sign in" }).click();
  const done = await drawn;
  const requests = await page.evaluate(() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/v1/")).length);
  await context.close();
  return { ms: done - clicked, requests };
}

async function apiFloor() {
  const started = performance.now();
  const login = await fetch(`${args.base}/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: args.email, password: args.password }),
  });
  const { access_token: token } = await login.json();
  loginMs.push(performance.now() - started);
  const headers = { Authorization: `Bearer ${token}`, "Accept-Encoding": "gzip" };
  const paths = [
    "/v1/auth/me",
    "/v1/index/history?fields=value,drawdown&return_type=price",
    "/v1/benchmark/series",
    "/v1/strategy/risk-metrics?window=30&return_type=price",
    "/v1/strategy/risk-metrics?window=90&return_type=price",
  ];
  await Promise.all(paths.map(async (path) => (await fetch(args.base + path, { headers })).arrayBuffer()));
  return performance.now() - started;
}

async function chartFrames() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto("about:blank");
  await page.evaluate(UPLOT);
  const result = await page.evaluate(async () => {
    const n = 2520;
    const times = Array.from({ length: n }, (_, i) => 1_500_000_000 + i * 86_400);
    const walk = (seed) => {
      let v = 100;
      return times.map((_, i) => (v *= 1 + Math.sin(i * 0.37 + seed) * 0.01));
    };
    const host = document.createElement("div");
    document.body.append(host);
    let drew = () => {};
    const started = performance.now();
    const u = new uPlot(
      {
        width: 1200,
        height: 300,
        scales: { x: { time: true } },
        series: [{}, { stroke: "blue" }, { stroke: "red" }, { stroke: "green" }],
        hooks: { draw: [() => drew()] },
      },
      [times, walk(1), walk(2), walk(3)],
      host,
    );
    const firstDraw = performance.now() - started;
    // Pan: a one-year window moved across the data, one scale change per animation frame.
    const draws = [];
    const frames = [];
    let last = performance.now();
    for (let f = 0; f < 120; f++) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      frames.push(now - last);
      last = now;
      const min = times[f * 18];
      // uPlot draws after the current task's changes are batched: time from the change to its draw hook.
      const t0 = performance.now();
      const painted = new Promise((resolve) => (drew = resolve));
      u.setScale("x", { min, max: min + 365 * 86_400 });
      await painted;
      draws.push(performance.now() - t0);
    }
    return { firstDraw, draws, frames: frames.slice(1) };
  });
  await context.close();
  return result;
}

const loginMs = [];
const signIn = [];
const floor = [];
for (let i = 0; i < runs; i++) {
  floor.push(await apiFloor());
  signIn.push(await signInToCharts());
}
const chart = await chartFrames();
await browser.close();
console.log(JSON.stringify({ sign_in_to_charts_ms: signIn.map((s) => s.ms), requests: signIn[0].requests, api_floor_ms: floor, api_login_ms: loginMs, chart }));

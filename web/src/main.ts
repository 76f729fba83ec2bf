// The dashboard's shell: fragment routes (#/index, ...), the navigation, the theme, and sign-in gating.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { get, signedIn, whenSignedOut } from "./api";
import { accountPage } from "./pages/account";
import { adminPage } from "./pages/admin";
import { allocationsPage } from "./pages/allocations";
import { comparePage } from "./pages/compare";
import { indexPage } from "./pages/index";
import { registerPage, signInPage } from "./pages/signin";
import { simulatePage } from "./pages/simulate";
import { type Me, resume, signOut } from "./session";
import { h } from "./ui";

type Page = (main: HTMLElement, me: Me) => void;

interface Route {
  label: string;
  page: Page;
  admin?: boolean;
  needsMe?: boolean; // the page uses who the caller is; the others draw without waiting for /me
}

const ROUTES: Record<string, Route> = {
  index: { label: "Index", page: indexPage },
  allocations: { label: "Allocations", page: allocationsPage },
  simulate: { label: "Simulate", page: simulatePage },
  compare: { label: "Compare", page: comparePage },
  account: { label: "Account", page: accountPage, needsMe: true },
  admin: { label: "Admin", page: adminPage, admin: true, needsMe: true },
};

let me: Me | null = null;
let mePromise: Promise<Me> | null = null;

/** Who the caller is, asked once per sign-in, in parallel with the first page's own requests. */
function whoAmI(): Promise<Me> {
  mePromise ??= get<Me>("/v1/auth/me").then((found) => {
    me = found;
    drawNav();
    return found;
  });
  return mePromise;
}

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;

function currentRoute(): string {
  return location.hash.replace(/^#\/?/, "").split("?")[0] || "index";
}

function themeToggle(): HTMLElement {
  const saved = localStorage.getItem("theme");
  if (saved) document.documentElement.dataset.theme = saved;
  const button = h("button", { type: "button", class: "link", "aria-label": "Switch between light and dark theme" }, "Theme");
  button.addEventListener("click", () => {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("theme", next);
    void render(); // charts take their colours when drawn
  });
  return button;
}

function drawNav(): void {
  const route = currentRoute();
  nav.hidden = me === null;
  nav.replaceChildren(
    ...Object.entries(ROUTES)
      .filter(([, r]) => !r.admin || me?.role === "admin")
      .map(([key, r]) => h("a", { href: `#/${key}`, "aria-current": key === route ? "page" : undefined }, r.label)),
  );
  const out = h("button", { type: "button", class: "link" }, "Sign out");
  out.addEventListener("click", async () => {
    await signOut();
    me = null;
    mePromise = null;
    location.hash = "#/signin";
    void render();
  });
  who.replaceChildren(themeToggle(), ...(me ? [h("span", { class: "email" }, me.email), out] : []));
}

async function afterSignIn(): Promise<void> {
  if (["signin", "register"].includes(currentRoute())) history.replaceState(null, "", "#/index");
  await render();
}

async function render(): Promise<void> {
  const route = currentRoute();
  if (!signedIn()) {
    me = null;
    mePromise = null;
    drawNav();
    if (route === "register") registerPage(main, () => void afterSignIn());
    else signInPage(main, () => void afterSignIn());
    return;
  }
  drawNav();
  const target = ROUTES[route];
  if (target?.needsMe || !me) {
    const asking = whoAmI();
    if (target?.needsMe) await asking.catch(() => null);
    else asking.catch(() => null);
  }
  if (!target || (target.admin && me?.role !== "admin")) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/index" }, "Go to the index")));
    return;
  }
  document.title = `${target.label} · AutoIndex`;
  target.page(main, me as Me); // `me` may still be on its way for pages that do not need it
  main.focus({ preventScroll: true });
}

whenSignedOut(() => {
  me = null;
  void render();
});
window.addEventListener("hashchange", () => void render());
// The fragment is the router's: the skip link moves the focus itself instead of changing the route.
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

void (async () => {
  await resume();
  await render();
})();

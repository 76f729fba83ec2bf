// Sign in and register: one form each, the API's problem detail shown under the form.
import { h, errorText, field } from "../ui";
import { register, signIn } from "../session";

export function signInPage(main: HTMLElement, done: () => void): void {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, minlength: 1 });
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    field("E-mail", email),
    field("Password", password),
    submit,
    status,
    h("p", {}, "No account yet? ", h("a", { href: "#/register" }, "Register")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.className = "form-status";
    status.textContent = "Signing in…";
    try {
      performance.mark("sign-in-submitted");
      await signIn(email.value, password.value);
      status.textContent = "";
      done();
    } catch (error) {
      status.className = "form-status error";
      status.textContent = errorText(error);
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  email.focus();
}

export function registerPage(main: HTMLElement, done: () => void): void {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true });
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Register");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "register-title" },
    h("h1", { id: "register-title" }, "Register"),
    field("E-mail", email),
    field("Password", password, "At least 12 characters; a passphrase works well."),
    submit,
    status,
    h("p", {}, "Have an account? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.className = "form-status";
    status.textContent = "Registering…";
    try {
      await register(email.value, password.value);
      await signIn(email.value, password.value);
      done();
    } catch (error) {
      status.className = "form-status error";
      status.textContent = errorText(error);
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  email.focus();
}

// @ts-check
/** Sign-in page. */
import { ApiError, postJson } from "../lib/api.js";
import { h } from "../lib/dom.js";

/** @typedef {import("../app.js").App} App */

/** @param {HTMLElement} root @param {App} app */
export async function loginView(root, app) {
  const username = /** @type {HTMLInputElement} */ (h("input", { name: "username", autocomplete: "username", required: true, "data-testid": "login-username", autofocus: true }));
  const password = /** @type {HTMLInputElement} */ (h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, "data-testid": "login-password" }));
  const error = h("div", { class: "notice error", role: "alert", hidden: true, "data-testid": "login-error" });
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Sign in"));
  const form = h("form", {
    class: "login-card",
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      button.disabled = true;
      error.hidden = true;
      try {
        app.user = await postJson("/auth/login", { username: username.value, password: password.value });
        app.renderHeader();
        app.navigate(app.afterLogin || "#/collections");
      } catch (err) {
        error.textContent = err instanceof ApiError ? err.message : "The server could not be reached.";
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    },
  },
  h("div", { class: "brand big" }, h("span", { class: "logo" }), "maskloop"),
  h("p", { class: "muted" }, "Annotation assistant for microscopy"),
  h("label", {}, "Username", username),
  h("label", {}, "Password", password),
  error, button);
  root.replaceChildren(h("div", { class: "login-page" }, form));
  username.focus();
  return {};
}

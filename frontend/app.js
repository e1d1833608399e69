// @ts-check
/**
 * maskloop's browser UI: a hash router (#/login, #/collections, #/collections/3, #/annotate/17,
 * #/admin/3), the signed-in user, and the guard that never drops unsaved work silently.
 */
import { ApiError, getJson, postJson } from "./lib/api.js";
import { h, notice, replace } from "./lib/dom.js";
import { adminView } from "./views/admin.js";
import { annotateView } from "./views/annotate.js";
import { collectionView } from "./views/collection.js";
import { collectionsView } from "./views/collections.js";
import { loginView } from "./views/login.js";

/** @typedef {{destroy?: () => void, isDirty?: () => boolean}} View */
/** @typedef {{id: number, username: string, role: "viewer" | "annotator" | "admin"}} User */

export class App {
  /** @param {HTMLElement} header @param {HTMLElement} main */
  constructor(header, main) {
    this.header = header;
    this.main = main;
    /** @type {User | null} */
    this.user = null;
    /** @type {View | null} */
    this.view = null;
    this.hash = "";
    /** Where to go after signing in. */
    this.afterLogin = "";
    this.ignoreNext = false;
    /** Increases with each route, so a slow view that finishes late does not replace a newer one. */
    this.generation = 0;
  }

  async start() {
    window.addEventListener("hashchange", () => this.onHashChange());
    window.addEventListener("maskloop:authorized", () => this.header.querySelector(".session-ended")?.remove());
    window.addEventListener("maskloop:unauthorized", () => {
      if (this.view?.isDirty?.()) {
        // Leaving would throw the unsaved mask away: stay, and say how to get the session back
        // (once, however many requests fail; the next successful one removes it).
        if (!this.header.querySelector(".session-ended")) {
          this.header.append(h("span", { class: "session-ended", role: "alert", "data-testid": "session-ended" },
            "Your session has ended. Sign in again in another tab, then save here."));
        }
        return;
      }
      this.user = null;
      this.renderHeader();
      if (!location.hash.startsWith("#/login")) { this.afterLogin = location.hash; this.go("#/login"); }
    });
    try {
      this.user = await getJson("/me");
    } catch {
      this.user = null;
    }
    this.renderHeader();
    await this.route();
  }

  /** In-app navigation; asks first when the current page has unsaved changes. @param {string} hash */
  navigate(hash) {
    if (location.hash === hash) {
      // No hashchange follows, so onHashChange cannot ask: reloading the page would drop its edits.
      if (!this.confirmLeave()) return;
      this.route();
      return;
    }
    location.hash = hash;
  }

  /** True when there is nothing unsaved to lose, or the user agrees to lose it. */
  confirmLeave() {
    return !this.view?.isDirty?.() || confirm("You have unsaved changes on this image. Leave and lose them?");
  }

  /** Navigate without asking (after sign-out or when the session ended). @param {string} hash */
  go(hash) {
    this.view?.destroy?.(); // the session is gone: nothing can be saved any more
    this.view = null;
    location.hash = hash;
  }

  onHashChange() {
    if (this.ignoreNext) { this.ignoreNext = false; return; }
    if (!this.confirmLeave()) {
      this.ignoreNext = true;
      location.hash = this.hash;
      return;
    }
    this.route();
  }

  async route() {
    const hash = location.hash || "#/collections";
    this.hash = hash;
    const generation = ++this.generation;
    this.view?.destroy?.();
    this.view = null;
    const parts = hash.replace(/^#\/?/, "").split("/");
    if (!this.user && parts[0] !== "login") {
      this.afterLogin = hash;
      this.ignoreNext = location.hash !== "#/login";
      location.hash = "#/login";
      parts.splice(0, parts.length, "login");
      this.hash = "#/login";
    }
    document.body.dataset.page = parts[0];
    this.renderHeader();
    const root = h("div", { class: "view" });
    this.main.replaceChildren(root);
    const idOf = (/** @type {string} */ s) => Number.parseInt(s, 10);
    try {
      /** @type {View} */
      let view;
      if (parts[0] === "login") view = await loginView(root, this);
      else if (parts[0] === "collections" && parts[1]) view = await collectionView(root, this, idOf(parts[1]));
      else if (parts[0] === "annotate" && parts[1]) view = await annotateView(root, this, idOf(parts[1]));
      else if (parts[0] === "admin" && parts[1]) view = await adminView(root, this, idOf(parts[1]));
      else view = await collectionsView(root, this);
      if (generation !== this.generation) view.destroy?.();
      else this.view = view;
    } catch (e) {
      if (generation !== this.generation) return;
      const message = e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
      root.replaceChildren(h("div", { class: "page" }, notice(message), h("p", {}, h("a", { href: "#/collections" }, "Back to the collections"))));
      console.error(e);
    }
  }

  renderHeader() {
    const user = this.user;
    const page = (location.hash || "#/collections").split("/")[1] || "collections";
    replace(this.header,
      h("a", { class: "brand", href: "#/collections" }, h("span", { class: "logo" }), "maskloop"),
      user ? h("nav", {}, h("a", { href: "#/collections", class: page === "collections" ? "on" : "" }, "Collections")) : null,
      h("span", { class: "spacer" }),
      user ? [
        h("span", { class: "who", "data-testid": "current-user" }, user.username, " ", h("span", { class: `badge role-${user.role}` }, user.role)),
        h("button", { type: "button", class: "link", "data-testid": "logout", onclick: () => this.logout() }, "Sign out"),
      ] : null);
  }

  async logout() {
    if (this.view?.isDirty?.() && !confirm("You have unsaved changes on this image. Sign out and lose them?")) return;
    try { await postJson("/auth/logout"); } catch { /* signed out either way */ }
    this.user = null;
    this.view?.destroy?.();
    this.view = null;
    this.afterLogin = "";
    this.renderHeader();
    if (location.hash === "#/login") this.route();
    else { this.ignoreNext = false; location.hash = "#/login"; }
  }
}

const app = new App(/** @type {HTMLElement} */ (document.getElementById("header")), /** @type {HTMLElement} */ (document.getElementById("main")));
/** @type {any} */ (window).maskloop = app;
app.start();

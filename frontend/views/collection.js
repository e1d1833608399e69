// @ts-check
/** A collection: thumbnails with status badges, filters, counts, progress and "Annotate next". */
import { ApiError, getJson } from "../lib/api.js";
import { h, notice, progressBar, setProgress } from "../lib/dom.js";
import { nextImage } from "../lib/loop.js";
import { uploadPanel } from "./upload.js";

/** @typedef {import("../app.js").App} App */

const PAGE = 60;
const STATUSES = ["unlabeled", "proposed", "labeled"];

/** @param {HTMLElement} root @param {App} app @param {number} id */
export async function collectionView(root, app, id) {
  const collection = await getJson(`/collections/${id}`);
  const isAdmin = app.user?.role === "admin";
  const canAnnotate = app.user?.role !== "viewer";
  let filter = "";
  let offset = 0;
  const grid = h("div", { class: "thumb-grid", "data-testid": "thumb-grid" });
  const filters = h("div", { class: "filters", role: "tablist" });
  const pager = h("div", { class: "pager" });
  const bar = progressBar({ "data-testid": "labeling-progress" });
  const summary = h("span", { class: "muted" });
  const message = h("div");
  const strategy = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "next-strategy", title: "How the next image is chosen" },
    h("option", { value: "" }, "server default"),
    ["uncertainty", "diverse", "random", "sequential"].map((s) => h("option", { value: s }, s))));
  strategy.value = sessionStorage.getItem(`strategy:${id}`) || "";
  strategy.addEventListener("change", () => sessionStorage.setItem(`strategy:${id}`, strategy.value));
  const nextButton = h("button", {
    type: "button", class: "primary", "data-testid": "annotate-next",
    onclick: async () => {
      try {
        const image = await nextImage(id, strategy.value);
        if (image) app.navigate(`#/annotate/${image.id}`);
        else message.replaceChildren(notice("No image is left to annotate.", "info"));
      } catch (e) {
        message.replaceChildren(notice(e instanceof ApiError ? e.message : String(e)));
      }
    },
  }, "Annotate next →");

  async function counts() {
    const all = await Promise.all(STATUSES.map((s) => getJson(`/collections/${id}/images?status=${s}&limit=1`)));
    /** @type {Record<string, number>} */
    const byStatus = Object.fromEntries(STATUSES.map((s, i) => [s, all[i].count]));
    const total = STATUSES.reduce((a, s) => a + byStatus[s], 0);
    setProgress(bar, total ? byStatus.labeled / total : 0);
    summary.textContent = `${byStatus.labeled} of ${total} labeled · ${byStatus.proposed} proposed · ${byStatus.unlabeled} unlabeled`;
    filters.replaceChildren(...["", ...STATUSES].map((s) => h("button", {
      type: "button", role: "tab", class: `filter ${s === filter ? "on" : ""}`, "aria-selected": String(s === filter), "data-filter": s || "all",
      onclick: () => { filter = s; offset = 0; counts(); load(); },
    }, `${s || "all"} `, h("span", { class: "count" }, String(s ? byStatus[s] : total)))));
  }

  async function load() {
    const q = `offset=${offset}&limit=${PAGE}${filter ? `&status=${filter}` : ""}`;
    /** @type {{data: any[], count: number}} */
    const page = await getJson(`/collections/${id}/images?${q}`);
    grid.replaceChildren(...page.data.map((im) => h("a", { class: "thumb", href: `#/annotate/${im.id}`, title: `${im.filename} — ${im.width}×${im.height} ${im.dtype}`, "data-image-id": String(im.id) },
      h("img", { src: `/api/v1/images/${im.id}/thumbnail`, alt: im.filename, loading: "lazy" }),
      h("span", { class: `badge status-${im.status}` }, im.status),
      h("span", { class: "thumb-name" }, im.filename))));
    if (!page.data.length) grid.append(h("p", { class: "muted empty" }, filter ? `No ${filter} image.` : "No image yet."));
    pager.replaceChildren(
      h("button", { type: "button", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, "‹ prev"),
      h("span", { class: "muted" }, page.count ? `${offset + 1}–${Math.min(offset + PAGE, page.count)} of ${page.count}` : ""),
      h("button", { type: "button", disabled: offset + PAGE >= page.count, onclick: () => { offset += PAGE; load(); } }, "next ›"));
  }

  const refresh = () => Promise.all([counts(), load()]);
  root.replaceChildren(h("div", { class: "page collection-page" },
    h("div", { class: "page-head" },
      h("h1", {}, h("a", { href: "#/collections", class: "crumb" }, "Collections"), h("span", { class: "sep" }, " › "), collection.name),
      h("span", { class: `badge kind-${collection.kind}` }, collection.kind),
      h("span", { class: "classes" }, collection.classes.map((/** @type {any} */ k) => h("span", { class: "class-chip" }, h("i", { style: { background: k.color } }), k.name))),
      h("span", { class: "spacer" }),
      isAdmin ? h("a", { class: "button", href: `#/admin/${id}`, "data-testid": "open-admin" }, "Training & models") : null,
      canAnnotate ? [strategy, nextButton] : null),
    h("div", { class: "progress-line" }, bar, summary),
    message,
    isAdmin ? h("details", { class: "panel upload-details" }, h("summary", {}, "Upload images"), uploadPanel(() => id, () => refresh())) : null,
    filters, grid, pager));
  await refresh();
  return {};
}

// @ts-check
/** The collections page: the list, and for admins creating a collection and uploading images. */
import { ApiError, getJson, postJson } from "../lib/api.js";
import { h, notice, progressBar, setProgress } from "../lib/dom.js";
import { uploadPanel } from "./upload.js";

/** @typedef {import("../app.js").App} App */

const DEFAULT_COLOURS = ["#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500", "#5ac8fa", "#ff2d55"];

/** @param {HTMLElement} root @param {App} app */
export async function collectionsView(root, app) {
  const isAdmin = app.user?.role === "admin";
  const tableBody = h("tbody");
  const uploadTarget = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "upload-collection" }));
  const page = h("div", { class: "page collections-page" });
  root.replaceChildren(page);

  async function refresh() {
    /** @type {{data: any[], count: number}} */
    const list = await getJson("/collections?limit=1000");
    const chosen = uploadTarget.value;
    tableBody.replaceChildren(...list.data.map((c) => {
      const bar = progressBar({ class: "progress small" });
      setProgress(bar, c.image_count ? c.labeled_count / c.image_count : 0);
      return h("tr", { "data-collection-id": String(c.id) },
        h("td", {}, h("a", { href: `#/collections/${c.id}`, class: "strong" }, c.name)),
        h("td", {}, h("span", { class: `badge kind-${c.kind}` }, c.kind)),
        h("td", {}, h("span", { class: "classes" }, c.classes.map((/** @type {any} */ k) => h("span", { class: "class-chip" }, h("i", { style: { background: k.color } }), k.name)))),
        h("td", { class: "num" }, String(c.image_count)),
        h("td", { class: "num" }, String(c.labeled_count)),
        h("td", { class: "bar-cell" }, bar),
        h("td", { class: "actions" },
          h("a", { href: `#/collections/${c.id}`, class: "button" }, "Open"),
          isAdmin ? h("a", { href: `#/admin/${c.id}`, class: "button" }, "Admin") : null));
    }));
    if (!list.data.length) tableBody.append(h("tr", {}, h("td", { colspan: "7", class: "muted empty" }, isAdmin ? "No collection yet — create one on the right." : "No collection yet. Ask an admin to create one.")));
    uploadTarget.replaceChildren(...list.data.map((c) => h("option", { value: String(c.id) }, c.name)));
    if (chosen && list.data.some((c) => String(c.id) === chosen)) uploadTarget.value = chosen;
  }

  page.append(
    h("div", { class: "page-head" }, h("h1", {}, "Collections")),
    h("div", { class: isAdmin ? "two-col" : "" },
      h("section", { class: "panel" },
        h("table", { class: "grid-table", "data-testid": "collections-table" },
          h("thead", {}, h("tr", {}, ["Name", "Kind", "Classes", "Images", "Labeled", "Progress", ""].map((t) => h("th", {}, t)))),
          tableBody)),
      isAdmin ? h("div", { class: "stack" }, createForm(async (c) => { await refresh(); uploadTarget.value = String(c.id); }),
        h("section", { class: "panel" }, h("h2", {}, "Upload images"),
          h("label", { class: "row" }, h("span", { class: "lbl" }, "into"), uploadTarget),
          uploadPanel(() => Number(uploadTarget.value) || null, () => refresh()))) : null));
  await refresh();
  return {};
}

/** @param {(collection: any) => void} onCreated */
function createForm(onCreated) {
  const name = /** @type {HTMLInputElement} */ (h("input", { required: true, maxlength: "200", "data-testid": "collection-name", placeholder: "e.g. nuclei-2026-03" }));
  const kind = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "collection-kind" },
    h("option", { value: "instance" }, "instance — one id per object"),
    h("option", { value: "semantic" }, "semantic — one class per pixel")));
  const rows = h("div", { class: "class-rows" });
  const message = h("div");
  const addRow = (/** @type {string} */ value = "") => {
    const i = rows.children.length;
    const row = h("div", { class: "class-row" },
      h("input", { class: "class-name", value, placeholder: `class ${i + 1}`, "data-testid": `class-name-${i}`, required: true }),
      h("input", { type: "color", class: "class-color", value: DEFAULT_COLOURS[i % DEFAULT_COLOURS.length], "data-testid": `class-color-${i}` }),
      h("button", { type: "button", class: "icon", title: "Remove this class", onclick: () => row.remove() }, "×"));
    rows.append(row);
  };
  addRow("nucleus");
  return h("form", {
    class: "panel form", "data-testid": "create-collection-form",
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      const classes = [...rows.querySelectorAll(".class-row")].map((r) => ({
        name: /** @type {HTMLInputElement} */ (r.querySelector(".class-name")).value.trim(),
        color: /** @type {HTMLInputElement} */ (r.querySelector(".class-color")).value,
      }));
      try {
        const created = await postJson("/collections", { name: name.value.trim(), kind: kind.value, classes });
        message.replaceChildren(notice(`Created “${created.name}”.`, "ok"));
        name.value = "";
        onCreated(created);
      } catch (err) {
        message.replaceChildren(notice(err instanceof ApiError ? err.message : String(err)));
      }
    },
  },
  h("h2", {}, "New collection"),
  h("label", { class: "row" }, h("span", { class: "lbl" }, "name"), name),
  h("label", { class: "row" }, h("span", { class: "lbl" }, "kind"), kind),
  h("div", { class: "row top" }, h("span", { class: "lbl" }, "classes"), h("div", { class: "grow" }, rows,
    h("button", { type: "button", "data-testid": "add-class", onclick: () => addRow() }, "+ class"))),
  message,
  h("div", { class: "row buttons" }, h("button", { type: "submit", class: "primary", "data-testid": "create-collection" }, "Create")));
}

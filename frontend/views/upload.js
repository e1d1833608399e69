// @ts-check
/** Upload by drag and drop or file picker: one request per file, each with its bar and its error. */
import { ApiError, uploadFile } from "../lib/api.js";
import { h, progressBar, setProgress } from "../lib/dom.js";

/**
 * @param {() => number | null} target the collection to upload into
 * @param {() => void} onDone after a batch finished
 * @returns {HTMLElement}
 */
export function uploadPanel(target, onDone) {
  const list = h("ul", { class: "upload-list", "data-testid": "upload-list" });
  const input = /** @type {HTMLInputElement} */ (h("input", {
    type: "file", multiple: true, "data-testid": "upload-input", class: "visually-hidden",
    accept: ".png,.jpg,.jpeg,.tif,.tiff,.zip,image/png,image/jpeg,image/tiff,application/zip",
  }));
  input.addEventListener("change", () => { if (input.files) send([...input.files]); input.value = ""; });
  const zone = h("label", { class: "dropzone", "data-testid": "dropzone" },
    input,
    h("strong", {}, "Drop images here"),
    h("span", { class: "muted" }, " or click to choose — PNG, JPEG, TIFF (8/16-bit, float, multi-channel) or .zip"));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer?.files.length) send([...e.dataTransfer.files]);
  });

  /** @param {File[]} files */
  async function send(files) {
    const id = target();
    if (!id) { list.prepend(h("li", { class: "upload-row error" }, "Choose a collection first.")); return; }
    const rows = files.map((file) => {
      const bar = progressBar({ "data-testid": "upload-progress" });
      const status = h("span", { class: "upload-status" }, "waiting");
      const row = h("li", { class: "upload-row", "data-filename": file.name }, h("span", { class: "upload-name", title: file.name }, file.name),
        h("span", { class: "upload-size muted" }, `${(file.size / 1024).toFixed(0)} KiB`), bar, status);
      list.append(row);
      return { file, bar, status, row };
    });
    // Two at a time: the server decodes each upload; more in parallel gains nothing.
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const { file, bar, status, row } = rows[next++];
        status.textContent = "uploading";
        try {
          const result = await uploadFile(id, file, (f) => setProgress(bar, f));
          const images = result.data;
          const dup = images.filter((im) => im.duplicate).length;
          status.textContent = images.length === 1
            ? `${images[0].duplicate ? "already there" : "added"} · ${images[0].width}×${images[0].height} ${images[0].dtype}${images[0].channels > 1 ? ` ×${images[0].channels}` : ""}`
            : `${images.length} images added${dup ? `, ${dup} already there` : ""}`;
          row.classList.add("ok");
        } catch (e) {
          status.textContent = e instanceof ApiError ? e.message : String(e);
          row.classList.add("error");
          setProgress(bar, 1);
          row.setAttribute("data-testid", "upload-error");
        }
      }
    };
    await Promise.all([worker(), worker()]);
    onDone();
  }
  return h("div", { class: "upload" }, zone, list);
}

// @ts-check
/** Admin page of a collection: jobs with live progress, model versions, the loop curve, settings. */
import { ApiError, getJson, postJson } from "../lib/api.js";
import { formatDuration, formatTime, h, notice, progressBar, setProgress } from "../lib/dom.js";
import { lineChart } from "../lib/chart.js";

/** @typedef {import("../app.js").App} App */

const ACTIVE = ["queued", "running"];
/** How often the job list is reloaded while the page is shown: jobs also start elsewhere
 * (retrains triggered by annotators' saves, other admins). */
const REFRESH_MS = 4000;
// Kept equal to models.pretext.PRETEXTS and models.networks.ENCODERS by tests/frontend/test_admin.py.
const PRETEXTS = ["masked", "contrastive", "rotation", "denoise", "superres"];
// "small" is the CPU default; the ResNets pay off on a GPU worker.
const ENCODERS = ["small", "resnet18", "resnet34"];
// Column hints: "merged" is the share of validation objects that came out fused with a
// neighbour, the most common reason for a low object F1 on crowded nuclei.
const MODEL_HEADER_TITLES = {
  merged: "Share of validation objects merged with a touching neighbour (instance collections): label more crowded images if it stays high",
};

/** @param {unknown} e */
const text = (e) => (e instanceof Error ? e.message : String(e));

/** @param {number | null | undefined} v */
const num = (v) => (typeof v === "number" && isFinite(v) ? v.toFixed(3) : "—");

/** @param {HTMLElement} root @param {App} app @param {number} id */
export async function adminView(root, app, id) {
  if (app.user?.role !== "admin") {
    root.replaceChildren(h("div", { class: "page" }, notice("Only admins can manage training and models.")));
    return {};
  }
  const collection = await getJson(`/collections/${id}`);
  /** @type {Map<number, EventSource>} */
  const streams = new Map();
  /** @type {Map<number, number>} */
  const pollers = new Map();
  /** @type {Map<number, HTMLElement>} */
  const jobRows = new Map();
  const jobsBody = h("tbody");
  const modelsBody = h("tbody");
  const chartBox = h("div", { class: "chart-box", "data-testid": "loop-chart" });
  const jobMessage = h("div");
  // Says when queued jobs wait for a worker that does not exist, not for a busy one.
  const workerNotice = h("div", { "data-testid": "worker-notice" });
  const workerCount = h("span", { class: "muted small", "data-testid": "worker-count" });
  const modelMessage = h("div");
  const missing = h("div");
  let destroyed = false;
  /** The job the "job N queued" notice is about; the notice goes once that job has ended. */
  let noticeJob = 0;
  /** Jobs listed so far, and those of them last seen active: to tell when one has ended. */
  const known = new Set();
  let loadedOnce = false;
  const activeSeen = new Set();

  // ---- job controls
  const steps = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: "1", placeholder: "auto", "data-testid": "train-steps", class: "num" }));
  const minutes = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: "0.1", step: "0.1", placeholder: "auto", "data-testid": "train-minutes", class: "num" }));
  const init = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "train-init" },
    h("option", { value: "" }, "default"), ["previous", "ssl", "scratch"].map((v) => h("option", { value: v }, v))));
  // Unticked: the new version predicts with its own network alone instead of averaging with
  // the active version's (params.ensemble, see README "The loop").
  const ensemble = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", checked: true, "data-testid": "train-ensemble" }));
  const method = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "pretrain-method" },
    h("option", { value: "" }, "default"), PRETEXTS.map((v) => h("option", { value: v }, v))));
  // The network is chosen where it is first built: by a pretraining, or by a training from
  // scratch. Every other training keeps the network of the encoder or version it starts from,
  // so the encoder is sent with a training only when its init is "scratch" (the server answers
  // 422 otherwise).
  const encoder = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "job-encoder" },
    h("option", { value: "" }, "default"), ENCODERS.map((v) => h("option", { value: v }, v))));

  /** @param {"pretrain" | "train"} kind */
  async function start(kind) {
    /** @type {Record<string, any>} */
    const params = {};
    if (steps.value) params.steps = Number(steps.value);
    if (minutes.value) params.minutes = Number(minutes.value);
    if (kind === "train" && init.value) params.init = init.value;
    if (kind === "train" && !ensemble.checked) params.ensemble = false;
    if (kind === "pretrain" && method.value) params.method = method.value;
    if (encoder.value && (kind === "pretrain" || init.value === "scratch")) params.encoder = encoder.value;
    startButtons.forEach((b) => { b.disabled = true; });
    jobMessage.replaceChildren(notice(`Starting a ${kind} job…`, "info"));
    try {
      const job = await postJson(`/collections/${id}/jobs`, { kind, params });
      jobMessage.replaceChildren(notice(`${kind} job ${job.id} queued.`, "ok"));
      noticeJob = job.id;
      await loadJobs();
    } catch (e) {
      jobMessage.replaceChildren(notice(text(e)));
    } finally {
      startButtons.forEach((b) => { b.disabled = false; });
    }
  }
  const startButtons = /** @type {HTMLButtonElement[]} */ ([
    h("button", { type: "button", "data-testid": "start-pretrain", title: "Self-supervised pretraining of the encoder on all images", onclick: () => start("pretrain") }, "Pretrain"),
    h("button", { type: "button", class: "primary", "data-testid": "start-train", title: "Train a new version on the labeled images", onclick: () => start("train") }, "Retrain"),
  ]);

  /** @param {any} job */
  function jobRow(job) {
    const bar = progressBar({ "data-testid": "job-progress", "data-job-id": String(job.id) });
    const row = h("tr", { "data-job-id": String(job.id) });
    /** @param {any} j */
    const fill = (j) => {
      setProgress(bar, j.status === "succeeded" ? 1 : j.progress || 0);
      bar.dataset.status = j.status;
      bar.classList.toggle("failed", j.status === "failed");
      bar.classList.toggle("done", j.status === "succeeded");
      const loss = j.metrics?.loss?.length ? j.metrics.loss[j.metrics.loss.length - 1][1] : null;
      const dice = j.metrics?.val_dice?.length ? j.metrics.val_dice[j.metrics.val_dice.length - 1][1] : null;
      const running = ACTIVE.includes(j.status);
      row.replaceChildren(
        h("td", { class: "num" }, String(j.id)),
        h("td", {}, j.kind, j.trigger && j.trigger !== "manual" ? h("span", { class: "muted" }, ` (${j.trigger})`) : null),
        h("td", {}, h("span", { class: `badge job-${j.status}`, "data-testid": "job-status" }, j.status)),
        h("td", { class: "bar-cell" }, bar, h("span", { class: "pct" }, `${Math.round((j.status === "succeeded" ? 1 : j.progress || 0) * 100)}%`)),
        h("td", { class: "num" }, running && j.eta_seconds != null ? formatDuration(j.eta_seconds) : "—"),
        h("td", { class: "num" }, loss != null ? `loss ${Number(loss).toFixed(4)}` : "", dice != null ? ` · dice ${Number(dice).toFixed(3)}` : ""),
        h("td", {}, formatTime(j.started_at)),
        h("td", {}, formatTime(j.finished_at)),
        h("td", { class: "job-detail" },
          j.error ? h("span", { class: "error-text", title: j.error }, j.error) : null,
          j.log_tail ? h("details", {}, h("summary", {}, "log"), h("pre", {}, j.log_tail)) : null,
          running && !j.cancel_requested ? h("button", { type: "button", class: "danger small", "data-testid": "job-cancel", onclick: () => cancel(j.id) }, "Cancel") : null,
          j.cancel_requested && running ? h("span", { class: "muted" }, "cancelling…") : null));
    };
    fill(job);
    jobRows.set(job.id, row);
    /** @type {any} */ (row).fill = fill;
    return row;
  }

  /** @param {number} jobId */
  async function cancel(jobId) {
    try {
      const job = await postJson(`/jobs/${jobId}/cancel`);
      /** @type {any} */ (jobRows.get(jobId))?.fill(job);
    } catch (e) {
      jobMessage.replaceChildren(notice(text(e)));
    }
  }

  /** Follow a job live: Server-Sent Events, or polling when the stream fails. @param {number} jobId */
  function follow(jobId) {
    if (streams.has(jobId) || pollers.has(jobId) || destroyed) return;
    const source = new EventSource(`/api/v1/jobs/${jobId}/events`);
    streams.set(jobId, source);
    source.addEventListener("progress", (e) => {
      const job = JSON.parse(/** @type {MessageEvent} */ (e).data);
      /** @type {any} */ (jobRows.get(jobId))?.fill(job);
    });
    source.addEventListener("end", (e) => {
      source.close();
      streams.delete(jobId);
      try {
        const job = JSON.parse(/** @type {MessageEvent} */ (e).data);
        /** @type {any} */ (jobRows.get(jobId))?.fill(job);
      } catch { /* ignore */ }
      finished();
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      streams.delete(jobId);
      poll(jobId);
    };
  }

  /** @param {number} jobId */
  function poll(jobId) {
    const timer = window.setInterval(async () => {
      try {
        const job = await getJson(`/jobs/${jobId}`);
        /** @type {any} */ (jobRows.get(jobId))?.fill(job);
        if (!ACTIVE.includes(job.status)) { clearInterval(timer); pollers.delete(jobId); finished(); }
      } catch { /* keep trying */ }
    }, 2000);
    pollers.set(jobId, timer);
  }

  async function finished() {
    if (destroyed) return;
    await Promise.all([loadJobs(), loadModels(), loadStats()]);
  }

  /**
   * Reload the job list, keeping the rows already shown, and follow the active jobs (once each:
   * every event stream holds a connection and a poller on the server).
   * @returns {Promise<boolean>} whether a job has ended since the last load (models may have changed)
   */
  async function loadJobs() {
    /** @type {{data: any[], workers_alive?: number}} */
    const list = await getJson(`/collections/${id}/jobs?limit=50`);
    if (destroyed) return false;
    showWorkers(list);
    const firstLoad = !loadedOnce;
    loadedOnce = true;
    let ended = false;
    const rows = list.data.map((j) => {
      const row = jobRows.get(j.id);
      if (!row) return jobRow(j);
      // A followed job's row is newer from its stream than from this list.
      if (!streams.has(j.id)) /** @type {any} */ (row).fill(j);
      return row;
    });
    const listed = new Set(list.data.map((j) => j.id));
    for (const jobId of [...jobRows.keys()]) if (!listed.has(jobId)) jobRows.delete(jobId);
    jobsBody.replaceChildren(...rows);
    if (!list.data.length) jobsBody.append(h("tr", {}, h("td", { colspan: "9", class: "muted empty" }, "No job yet.")));
    for (const j of list.data) {
      const active = ACTIVE.includes(j.status);
      if (active) { activeSeen.add(j.id); follow(j.id); }
      else if (activeSeen.delete(j.id) || (!firstLoad && !known.has(j.id))) ended = true;
      known.add(j.id);
      if (!active && j.id === noticeJob) { jobMessage.replaceChildren(); noticeJob = 0; }
    }
    return ended;
  }

  /** @param {{data: any[], workers_alive?: number}} list */
  function showWorkers(list) {
    const alive = list.workers_alive;
    if (alive === undefined) return; // a server from before the workers table
    workerCount.textContent = `${alive} worker${alive === 1 ? "" : "s"} polling`;
    const waiting = list.data.some((j) => j.status === "queued");
    workerNotice.replaceChildren(...(alive === 0 && waiting
      ? [notice("No worker is running, so queued jobs wait. Start one with `maskloop worker` on a machine that shares this server's database and data folder (or run the server with MASKLOOP_WORKER=embedded).")]
      : []));
  }

  let refreshing = false;
  async function refresh() {
    if (destroyed || document.hidden || refreshing) return;
    refreshing = true;
    try {
      if (await loadJobs()) await Promise.all([loadModels(), loadStats()]);
    } catch { /* the next tick tries again */ }
    finally { refreshing = false; }
  }

  async function loadModels() {
    /** @type {{data: any[]}} */
    const list = await getJson(`/collections/${id}/models`);
    const rows = [...list.data].sort((a, b) => b.version - a.version);
    const versions = new Map(rows.map((m) => [m.id, m.version]));
    /** @param {any} m */
    const partners = (m) => {
      /** @type {string[]} */
      const others = (m.ensemble_with_ids || []).map((/** @type {number} */ i) => `v${versions.get(i) ?? "?"}`);
      if (!others.length) return "";
      const files = [`v${m.version}`, ...others].map((v) => `--model ${v}.pt`).join(" ");
      return h("span", { class: "muted", "data-testid": "model-ensemble", title: `Predicts with the mean of its own network and those of ${others.join(", ")}. To reproduce it offline, download each checkpoint: maskloop predict ${files}` }, others.map((v) => ` + ${v}`).join(""));
    };
    modelsBody.replaceChildren(...rows.map((m) => h("tr", { "data-testid": "model-row", "data-version": String(m.version), "data-model-id": String(m.id) },
      h("td", { class: "num strong" }, `v${m.version}`),
      h("td", {}, h("span", { class: `badge model-${m.status}`, "data-testid": "model-status" }, m.status)),
      h("td", {}, m.init, m.network ? h("span", { class: "muted", "data-testid": "model-network", title: "network" }, ` · ${m.network}`) : "", partners(m)),
      h("td", { class: "num" }, num(m.metrics?.dice)),
      h("td", { class: "num" }, num(m.metrics?.iou)),
      h("td", { class: "num" }, num(m.metrics?.object_f1)),
      h("td", { class: "num", "data-testid": "model-merged" }, num(m.metrics?.objects_merged)),
      h("td", { class: "num" }, `${m.train_images} / ${m.val_images}`),
      h("td", {}, formatTime(m.created_at)),
      h("td", { class: "reason", title: m.reason || "" }, m.reason || ""),
      h("td", { class: "actions" },
        m.status !== "active" ? h("button", { type: "button", class: "small", "data-testid": "model-activate", onclick: () => activate(m) }, m.status === "archived" ? "Roll back" : "Activate") : h("span", { class: "muted" }, "in use"),
        h("a", { class: "button small", href: `/api/v1/models/${m.id}/checkpoint`, download: "" }, "checkpoint")))));
    if (!rows.length) modelsBody.append(h("tr", {}, h("td", { colspan: "11", class: "muted empty" }, "No model yet: pretrain, then train once some images are labeled.")));
  }

  /** @param {any} m */
  async function activate(m) {
    if (!confirm(`Make v${m.version} the active model? New proposals will come from it.`)) return;
    try {
      await postJson(`/models/${m.id}/activate`, { collection_id: id });
      modelMessage.replaceChildren(notice(`v${m.version} is now active.`, "ok"));
      await Promise.all([loadModels(), loadStats()]);
    } catch (e) {
      modelMessage.replaceChildren(notice(text(e)));
    }
  }

  async function loadStats() {
    /** @type {{data: any[]}} */
    const stats = await getJson(`/collections/${id}/stats`);
    const dice = stats.data.filter((r) => r.val_dice != null).map((r) => /** @type {[number, number]} */ ([r.labeled_images, r.val_dice]));
    const corrected = stats.data.filter((r) => r.mean_corrected_fraction != null).map((r) => /** @type {[number, number]} */ ([r.labeled_images, r.mean_corrected_fraction]));
    const workLeft = stats.data.filter((r) => r.pixel_work_ratio != null).map((r) => /** @type {[number, number]} */ ([r.labeled_images, r.pixel_work_ratio]));
    chartBox.replaceChildren(stats.data.length
      ? lineChart([
        { name: "validation Dice", color: "#4ea1ff", points: dice },
        { name: "corrected-pixel fraction", color: "#ff9f43", points: corrected, dashed: true },
        { name: "work left vs. drawing from empty", color: "#2ecc71", points: workLeft, dashed: true },
      ], { xLabel: "labeled images", yLabel: "fraction" })
      : h("p", { class: "muted empty" }, "The curve appears once a model version exists."));
  }

  // ---- settings
  const minImages = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: "0", class: "num", "data-testid": "setting-auto-pretrain" }));
  const every = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: "0", class: "num", "data-testid": "setting-retrain-every" }));
  const settingsMessage = h("div");
  const settingsForm = h("form", {
    class: "form",
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      try {
        const saved = await getJson(`/collections/${id}/settings`, { method: "PATCH", json: { auto_pretrain_min_images: Number(minImages.value), retrain_every: Number(every.value) } });
        minImages.value = String(saved.auto_pretrain_min_images);
        every.value = String(saved.retrain_every);
        settingsMessage.replaceChildren(notice("Settings saved.", "ok"));
      } catch (err) {
        settingsMessage.replaceChildren(notice(text(err)));
      }
    },
  },
  h("label", { class: "row" }, h("span", { class: "lbl wide" }, "pretrain automatically at"), minImages, h("span", { class: "muted" }, "images (0 = off)")),
  h("label", { class: "row" }, h("span", { class: "lbl wide" }, "retrain after every"), every, h("span", { class: "muted" }, "new or changed annotations (0 = off)")),
  settingsMessage,
  h("div", { class: "row buttons" }, h("button", { type: "submit", class: "primary", "data-testid": "save-settings" }, "Save settings")));

  async function loadSettings() {
    const s = await getJson(`/collections/${id}/settings`);
    minImages.value = String(s.auto_pretrain_min_images);
    every.value = String(s.retrain_every);
  }

  root.replaceChildren(h("div", { class: "page admin-page" },
    h("div", { class: "page-head" },
      h("h1", {}, h("a", { href: "#/collections", class: "crumb" }, "Collections"), h("span", { class: "sep" }, " › "),
        h("a", { href: `#/collections/${id}`, class: "crumb" }, collection.name), h("span", { class: "sep" }, " › "), "Training & models"),
      h("span", { class: "muted" }, `${collection.image_count} images · ${collection.labeled_count} labeled`)),
    missing,
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, "Jobs"), workerCount, h("span", { class: "spacer" }),
        h("label", { class: "inline" }, "steps ", steps), h("label", { class: "inline" }, "minutes ", minutes),
        h("label", { class: "inline" }, "pretext ", method),
        h("label", { class: "inline", title: "Network of a pretraining, or of a training with init scratch (others keep the network they start from)" }, "encoder ", encoder),
        startButtons[0],
        h("label", { class: "inline" }, "init ", init),
        h("label", { class: "inline", title: "Average the new version's predictions with the active version's networks" }, ensemble, " average with active"),
        startButtons[1]),
      jobMessage,
      workerNotice,
      h("table", { class: "grid-table jobs", "data-testid": "jobs-table" },
        h("thead", {}, h("tr", {}, ["#", "kind", "status", "progress", "ETA", "metrics", "started", "finished", ""].map((t) => h("th", {}, t)))),
        jobsBody)),
    h("section", { class: "panel" }, h("h2", {}, "Model versions"), modelMessage,
      h("table", { class: "grid-table models", "data-testid": "models-table" },
        h("thead", {}, h("tr", {}, ["version", "status", "init", "Dice", "IoU", "object F1", "merged", "train / val", "created", "reason", ""].map((t) => h("th", MODEL_HEADER_TITLES[t] ? { title: MODEL_HEADER_TITLES[t] } : {}, t)))),
        modelsBody)),
    h("div", { class: "two-col halves" },
      h("section", { class: "panel" }, h("h2", {}, "Is the model good enough?"), chartBox,
        h("p", { class: "muted small" }, "Per version, against the labeled images it trained on: validation Dice; the mean fraction of proposal pixels the annotators corrected; and the work left, those corrections as a share of the pixels drawn from an empty mask (1: the proposals saved nothing). Unlike the corrected fraction, the work left does not rise when denser images are served.")),
      h("section", { class: "panel" }, h("h2", {}, "Loop settings"), settingsForm))));

  const results = await Promise.allSettled([loadJobs(), loadModels(), loadStats(), loadSettings()]);
  const failures = results.filter((r) => r.status === "rejected").map((r) => /** @type {PromiseRejectedResult} */ (r).reason);
  if (failures.some((e) => e instanceof ApiError && e.routeMissing)) {
    missing.replaceChildren(notice("This server does not offer the training endpoints yet; jobs, models and settings are unavailable.", "info"));
  } else if (failures.length) {
    missing.replaceChildren(notice(failures.map(text).join("; ")));
  }
  const refresher = window.setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", refresh);
  return {
    destroy() {
      destroyed = true;
      clearInterval(refresher);
      document.removeEventListener("visibilitychange", refresh);
      for (const s of streams.values()) s.close();
      for (const t of pollers.values()) clearInterval(t);
    },
  };
}

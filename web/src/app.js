// imgflow's page: uploads with live status, the gallery, an image's detail and its runs.
import { Api, ApiError, decodableTypes, postFile } from "./api.js";
import { session, signOut, startSignIn } from "./auth.js";
import { $, h } from "./dom.js";
import { renderGraph, renderTimeline } from "./graph.js";
import { placeholderCanvas } from "./thumbhash.js";
import { ALREADY_THERE, FINAL, STATUS, bytes, camera, exposure, statusText, takenAt, when } from "./words.js";

const PAGE = 24;
const PARALLEL_UPLOADS = 3;
let config;
let api;
const filters = {};
let cursor = null;

// -- notices: kind "ok" (done as asked), "error" (not done), "info" (neither) ---------------------------
function notice(text, kind = "info") {
  const el = $("notice");
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = !text;
}

// -- asking: the page's own dialog (answers true for its confirm button, false otherwise) ------------------
function ask(text, confirmLabel, { danger = false } = {}) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  const ok = $("confirm-ok");
  ok.textContent = confirmLabel;
  ok.className = danger ? "danger" : "primary";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// -- status polling: GET /images/{id}/status (never counted as an access) -----------------------------
const watched = new Map(); // id -> Map(role -> callback): one callback per role (upload, gallery, detail)
const MAX_POLLS = 200; // about a quarter of an hour: then the gallery's next load shows where it stands

function watch(id, role, callback) {
  if (!watched.has(id)) {
    watched.set(id, new Map());
    poll(id, 0);
  }
  watched.get(id).set(role, callback);
}

async function poll(id, attempt) {
  const delay = attempt < 20 ? 500 : attempt < 60 ? 2000 : 5000;
  await new Promise((r) => setTimeout(r, delay));
  if (document.hidden) {
    await new Promise((r) => document.addEventListener("visibilitychange", r, { once: true }));
  }
  let status;
  try {
    status = await api.get(`/images/${encodeURIComponent(id)}/status`);
  } catch (e) {
    if ((e instanceof ApiError && e.status === 404) || attempt >= MAX_POLLS) watched.delete(id);
    else poll(id, attempt + 1);
    return;
  }
  for (const cb of (watched.get(id) || new Map()).values()) cb(status);
  if (FINAL.has(status.status) || attempt >= MAX_POLLS) watched.delete(id);
  else poll(id, attempt + 1);
}

// -- uploads ----------------------------------------------------------------------------------------------
const TYPES_BY_EXTENSION = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
  avif: "image/avif",
  tif: "image/tiff",
  tiff: "image/tiff",
};

function contentType(file) {
  const allowed = config.content_types || [];
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  const type = file.type || TYPES_BY_EXTENSION[ext] || "";
  if (allowed.includes(type)) return type;
  // Declared types only name the file; the workflow decides by content.
  if (allowed.includes("application/octet-stream") && (type.startsWith("image/") || TYPES_BY_EXTENSION[ext])) {
    return "application/octet-stream";
  }
  return null;
}

function refusal(file) {
  if (file.size === 0) return "the file is empty";
  if (config.max_bytes && file.size > config.max_bytes) {
    return `the file is ${bytes(file.size)}, larger than the limit of ${bytes(config.max_bytes)}`;
  }
  if (!contentType(file)) return `“${file.type || file.name}” is not an image type imgflow accepts`;
  return null;
}

const queue = [];
let running = 0;
const uploadLinks = new Map(); // image id -> {item, link, state} of this page's uploads

/** An image that is gone (deleted, or not found): its upload is listed as such, no longer a link. */
function gone(id, words) {
  const entry = uploadLinks.get(id);
  if (!entry) return;
  uploadLinks.delete(id);
  const name = h("span", { class: "name" }, entry.link.textContent);
  entry.link.replaceWith(name);
  entry.link = name;
  entry.item.className = "upload gone";
  entry.item.dataset.status = "GONE";
  entry.state.textContent = words;
}

function addFiles(files) {
  for (const file of files) {
    const bar = h("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
    const state = h("span", { class: "state" }, "Queued");
    const link = h("span", { class: "name" }, file.name);
    const item = h("li", { class: "upload" }, link, h("span", { class: "size" }, bytes(file.size)), bar, state);
    $("uploads").prepend(item);
    const refused = refusal(file);
    if (refused) {
      item.classList.add("refused");
      bar.remove();
      state.textContent = `Not uploaded: ${refused}`;
      continue;
    }
    queue.push({ file, item, bar, state, link });
  }
  pump();
}

function pump() {
  while (running < PARALLEL_UPLOADS && queue.length) {
    running += 1;
    upload(queue.shift()).finally(() => {
      running -= 1;
      pump();
    });
  }
}

/** The file's SHA-256 in hex, so that the API can answer that the owner already has it (null where the
 * browser has no Web Crypto, e.g. a page not served from a secure origin: then the file is uploaded). */
async function fingerprint(file) {
  if (!globalThis.crypto?.subtle) return null;
  try {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}

/** A ticket answered with ``duplicate_of``: nothing to upload, the item links to the image already there. */
function alreadyThere(ticket, { file, item, bar, state, link }) {
  bar.remove();
  const a = h("a", { class: "name", href: `#/image/${ticket.id}` }, file.name);
  link.replaceWith(a);
  item.classList.add("processed", "duplicate");
  item.dataset.status = "PROCESSED";
  state.textContent = ALREADY_THERE;
}

async function upload(entry) {
  const { file, item, bar, state, link } = entry;
  const fail = (text) => {
    item.classList.add("refused");
    bar.remove();
    state.textContent = text;
  };
  let ticket;
  try {
    state.textContent = "Checking…";
    const sha256 = config.max_bytes && file.size > config.max_bytes ? null : await fingerprint(file);
    state.textContent = "Starting…";
    const body = { filename: file.name.slice(0, 255) || "image", content_type: contentType(file), size: file.size };
    ticket = await api.request("POST", "/uploads", { body: sha256 ? { ...body, sha256 } : body });
  } catch (e) {
    fail(`Not uploaded: ${e.message}`);
    return;
  }
  item.dataset.id = ticket.id;
  if (ticket.duplicate_of) {
    alreadyThere(ticket, entry);
    return;
  }
  uploadLinks.set(ticket.id, { item, link, state });
  try {
    state.textContent = "Uploading…";
    await postFile(ticket.upload, file, (f) => {
      bar.value = Math.round(f * 100);
      state.textContent = `Uploading… ${Math.round(f * 100)}%`;
    });
  } catch (e) {
    fail(`Upload failed: ${e.message}`);
    return;
  }
  bar.value = 100;
  state.textContent = "Uploaded; waiting for the workflow…";
  await new Promise((resolve) => {
    watch(ticket.id, "upload", (status) => {
      state.textContent = statusText(status);
      item.dataset.status = status.status;
      if (FINAL.has(status.status)) {
        bar.remove();
        if (uploadLinks.has(ticket.id)) {
          const a = h("a", { class: "name", href: `#/image/${ticket.id}` }, file.name);
          link.replaceWith(a);
          uploadLinks.get(ticket.id).link = a;
        }
        item.classList.add(status.status.toLowerCase());
        resolve();
      }
    });
  });
  refreshGallery();
}

function setUpUploads() {
  const limits = [];
  if (config.max_bytes) limits.push(`up to ${bytes(config.max_bytes)} each`);
  limits.push("JPEG, PNG, GIF, WebP and other images; the content decides, not the name");
  $("limits").textContent = limits.join("; ");
  const picker = $("files");
  const take = () => {
    addFiles([...picker.files]);
    picker.value = "";
  };
  picker.addEventListener("change", take);
  // Files chosen while the page was still signing in: their change event came before this listener.
  if (picker.files.length) take();
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    addFiles([...e.dataTransfer.files]);
  });
}

// -- gallery ----------------------------------------------------------------------------------------------
function card(item) {
  const label = item.filename || item.id;
  const picture = item.thumbnail_url
    ? h("img", { src: item.thumbnail_url, alt: "", loading: "lazy", decoding: "async" })
    : h("span", { class: "placeholder", "aria-hidden": "true" }, FINAL.has(item.status) ? "No preview" : "…");
  const status = h("span", { class: `badge ${item.status.toLowerCase()}` }, statusText(item));
  const li = h(
    "li",
    { class: "card", "data-id": item.id, "data-status": item.status },
    h(
      "a",
      { href: `#/image/${item.id}` },
      thumbWithPlaceholder(item, picture),
      h("span", { class: "caption" }, h("span", { class: "name" }, label), status, h("span", { class: "date" }, when(item.created_at))),
    ),
  );
  const recent = Date.now() - Date.parse(item.updated_at || item.created_at) < 3600 * 1000;
  if (!FINAL.has(item.status) && recent) {
    watch(item.id, `card`, (s) => {
      if (FINAL.has(s.status)) refreshGallery();
      else {
        status.textContent = statusText(s);
        li.dataset.status = s.status;
      }
    });
  }
  return li;
}

// The thumbnail over its placeholder (ThumbHash, painted at once), which it hides once it has loaded.
function thumbWithPlaceholder(item, picture) {
  const canvas = item.thumbnail_url ? placeholderCanvas(item.placeholder) : null;
  const thumb = h("span", { class: "thumb" }, canvas, picture);
  if (canvas) {
    thumb.classList.add("has-placeholder");
    const loaded = () => thumb.classList.add("loaded");
    if (picture.complete && picture.naturalWidth) loaded();
    else picture.addEventListener("load", loaded, { once: true });
  }
  return thumb;
}

let refreshTimer = null;
function refreshGallery() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadGallery(true), 150);
}

let loading = 0;
async function loadGallery(reset) {
  const ticket = ++loading;
  if (reset) cursor = null;
  const query = { limit: PAGE, cursor, ...filters };
  $("gallery-status").textContent = "Loading…";
  let page;
  try {
    page = await api.get("/images", query);
  } catch (e) {
    $("gallery-status").textContent = `Could not load your images: ${e.message}`;
    return;
  }
  if (ticket !== loading) return;
  const list = $("gallery");
  if (reset) list.replaceChildren();
  list.append(...page.items.map(card));
  cursor = page.next_cursor;
  $("more").hidden = !cursor;
  const count = list.children.length;
  const filtered = Object.values(filters).some(Boolean);
  $("gallery-status").textContent = count
    ? `${count} image${count === 1 ? "" : "s"}${cursor ? " so far" : ""}${filtered ? " matching the filters" : ""}, newest first.`
    : filtered
      ? "No images match these filters."
      : "No images yet: upload some above.";
}

function dayBound(value, end) {
  if (!value) return undefined;
  const [y, m, d] = value.split("-").map(Number);
  const local = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return local.toISOString();
}

function setUpGallery() {
  const form = $("filters");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    filters.status = data.get("status") || undefined;
    filters.since = dayBound(data.get("since"), false);
    filters.until = dayBound(data.get("until"), true);
    filters.tag = data.get("tag").trim() || undefined;
    loadGallery(true);
  });
  form.addEventListener("reset", () => {
    for (const k of Object.keys(filters)) delete filters[k];
    setTimeout(() => loadGallery(true));
  });
  $("more").addEventListener("click", () => loadGallery(false));
}

// -- detail -----------------------------------------------------------------------------------------------
let current = null;

/** A status line's words and colour ("saved", "not-saved" or none). */
function statusLine(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = kind;
}

function fact(dl, term, ...value) {
  if (!value.length || value.every((v) => v === "" || v === null || v === undefined)) return;
  dl.append(h("dt", {}, term), h("dd", {}, ...value));
}

function mapLink(gps) {
  const lat = Number(gps.lat).toFixed(6);
  const lon = Number(gps.lon).toFixed(6);
  const text = `${lat}, ${lon}${gps.alt !== null && gps.alt !== undefined ? `, ${Math.round(gps.alt)} m` : ""}`;
  return h(
    "a",
    { href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=15/${lat}/${lon}`, target: "_blank", rel: "noopener" },
    text,
    h("span", { class: "visually-hidden" }, " (map, opens in a new tab)"),
  );
}

function renderDetail(image) {
  current = image;
  $("detail-title").textContent = image.filename || image.id;
  document.title = `${image.filename || image.id} · imgflow`;
  $("detail-status").textContent = statusText(image);
  $("detail-status").dataset.status = image.status;
  const figure = $("detail-figure");
  figure.replaceChildren();
  const renditions = [...image.renditions].sort((a, b) => a.width - b.width);
  if (renditions.length) {
    const largest = renditions[renditions.length - 1];
    figure.append(
      h("img", {
        src: largest.url,
        srcset: renditions.map((r) => `${r.url} ${r.width}w`).join(", "),
        sizes: "(max-width: 56rem) 100vw, 60vw",
        width: largest.width,
        height: largest.height,
        alt: image.description || `The image ${image.filename || image.id}`,
      }),
    );
  } else {
    figure.append(h("p", { class: "placeholder" }, FINAL.has(image.status) ? `No rendition: ${image.status.toLowerCase()}.` : "Not processed yet."));
  }
  const dl = $("detail-facts");
  dl.replaceChildren();
  const exif = image.exif || {};
  fact(dl, "Display size", image.width ? `${image.width} × ${image.height} px` : "");
  fact(dl, "Format", [image.format, bytes(image.bytes)].filter(Boolean).join(", "));
  fact(dl, "Camera", camera(exif.make, exif.model));
  fact(dl, "Lens", exif.lens_model || "");
  fact(dl, "Exposure", exposure(exif));
  fact(dl, "Taken", takenAt(exif.taken_at));
  if (exif.gps && exif.gps.lat !== null && exif.gps.lat !== undefined && exif.gps.lon !== null && exif.gps.lon !== undefined) {
    fact(dl, "Location", mapLink(exif.gps));
  }
  fact(dl, "Uploaded", when(image.created_at));
  fact(dl, "Opened", `${image.access_count} time${image.access_count === 1 ? "" : "s"}`);
  $("edit-tags").value = (image.tags || []).join(", ");
  $("edit-description").value = image.description || "";
  statusLine("edit-status", "");
  const downloads = $("downloads");
  downloads.replaceChildren();
  if (image.original_url) {
    downloads.append(h("li", {}, h("button", { type: "button", class: "link", onclick: () => download("original") }, `Original (${image.format || "file"}, ${bytes(image.bytes)})`)));
  }
  for (const r of renditions) {
    downloads.append(
      h("li", {}, h("button", { type: "button", class: "link", onclick: () => download(r.name) }, `${r.name}: ${r.width} × ${r.height} ${r.format}, ${bytes(r.bytes)}`)),
    );
  }
  if (!downloads.children.length) downloads.append(h("li", { class: "hint" }, "Nothing to download until the image is processed."));
  $("reprocess").disabled = !FINAL.has(image.status);
}

async function download(name) {
  // Attachment URLs are asked for when wanted (each is an access of the image).
  try {
    const image = await api.get(`/images/${current.id}`, { download: "true", expires: 60 });
    const url = name === "original" ? image.original_url : (image.renditions.find((r) => r.name === name) || {}).url;
    if (url) location.assign(url);
  } catch (e) {
    notice(`Download failed: ${e.message}`, "error");
  }
}

/** What a run made of the image (its final record), in words, and the class that colours it. */
function runOutcome(run, image, latest) {
  if (run.status === "RUNNING") return ["Running…", "running"];
  const caught = (to) => run.states.find((st) => st.caught_by === to && st.error);
  const why = (st) => (st && st.error ? st.error.cause || st.error.error : "");
  const end = run.final_state || (run.states.length ? run.states[run.states.length - 1].name : "");
  const own = latest && image && FINAL.has(image.status); // the image's record is this run's result
  if (end === "Processed") return ["Processed", "processed"];
  if (end === "Rejected") {
    return [own && image.status === "REJECTED" ? statusText(image) : `Rejected: ${why(caught("RecordRejected")) || "no reason given"}`, "rejected"];
  }
  if (end === "Failed") {
    return [own && image.status === "FAILED" ? statusText(image) : `Failed: ${why(caught("RecordFailed")) || "unknown error"}`, "failed"];
  }
  if (end === "Duplicate") return ["Duplicate: another run owns this upload; no record written", "duplicate"];
  if (end === "Superseded") return ["Superseded: a newer upload's run wrote the record", "duplicate"];
  const error = run.error ? run.error.cause || run.error.error : end;
  return [`Failed: ${error || "the run ended without a record"}`, "failed"];
}

const EXECUTION = { SUCCEEDED: "succeeded", FAILED: "failed", TIMED_OUT: "timed out", ABORTED: "aborted", RUNNING: "running" };

// The detail's near duplicates (GET /images/{id}/similar), each a small card linking to it.
async function loadSimilar(image) {
  const box = $("similar");
  box.replaceChildren();
  $("detail-similar").hidden = image.status !== "PROCESSED"; // only a processed image has a pHash
  if (image.status !== "PROCESSED") return;
  let found;
  try {
    found = await api.get(`/images/${encodeURIComponent(image.id)}/similar`);
  } catch (e) {
    box.replaceChildren(h("p", { class: "hint" }, `Similar images are not available: ${e.message}`));
    return;
  }
  if (!current || current.id !== image.id) return;
  const note = image.duplicate_of
    ? h("p", {}, "The same file as ", h("a", { href: `#/image/${image.duplicate_of}` }, "an earlier upload"), ": its renditions were reused.")
    : "";
  if (!found.items.length) {
    box.replaceChildren(note, h("p", { class: "hint" }, "No similar images."));
    return;
  }
  const list = h("ul", { class: "gallery similar-list" });
  for (const item of found.items) {
    const card = h("li", { class: "card", "data-id": item.id, "data-distance": item.distance });
    const picture = item.thumbnail_url
      ? h("img", { src: item.thumbnail_url, alt: "", loading: "lazy", decoding: "async" })
      : h("span", { class: "placeholder", "aria-hidden": "true" }, "No preview");
    const alike = item.distance === 0 ? "alike" : `${item.distance} bit${item.distance === 1 ? "" : "s"} apart`;
    card.append(
      h(
        "a",
        { href: `#/image/${item.id}` },
        thumbWithPlaceholder(item, picture),
        h("span", { class: "caption" }, h("span", { class: "name" }, item.filename || item.id), h("span", { class: "date" }, alike)),
      ),
    );
    list.append(card);
  }
  box.replaceChildren(note, list);
}

let workflow = null;
async function loadRuns(id, ticket) {
  const box = $("runs");
  box.replaceChildren(h("p", { class: "hint" }, "Loading runs…"));
  let runs;
  try {
    [workflow, runs] = await Promise.all([workflow || api.get("/workflow"), api.get(`/images/${id}/runs`)]);
  } catch (e) {
    if (ticket === shown) box.replaceChildren(h("p", { class: "error" }, `Runs are not available: ${e.message}`));
    return;
  }
  if (ticket !== shown || !current || current.id !== id) return;
  if (!runs.runs.length) {
    box.replaceChildren(h("p", {}, "No runs yet."), renderGraph(workflow, null));
    return;
  }
  box.replaceChildren(
    ...runs.runs.map((run, i) => {
      const [outcome, kind] = runOutcome(run, current, i === 0);
      return h(
        "details",
        { class: `run ${kind}`, open: i === 0, "data-outcome": kind },
        h(
          "summary",
          {},
          h("strong", { class: kind }, outcome),
          " ",
          h("span", { class: "execution" }, `(execution ${EXECUTION[run.status] || run.status.toLowerCase()})`),
          ` · ${when(run.started_at)}${run.duration_s !== null && run.duration_s !== undefined ? ` · ${run.duration_s.toFixed(2)}\u00a0s` : ""}`,
          i === 0 ? " · latest" : "",
        ),
        renderTimeline(run),
        renderGraph(workflow, run),
      );
    }),
  );
}

let shown = 0; // the detail view's current fetch: an answer for an earlier one is dropped

/** The detail view with nothing of any image in it (what a route shows until its own fetch answers). */
function clearDetail(title) {
  $("detail-title").textContent = title;
  const line = $("detail-status");
  line.textContent = "";
  line.className = "status-line";
  delete line.dataset.status;
  $("detail-figure").replaceChildren();
  $("detail-facts").replaceChildren();
  $("downloads").replaceChildren();
  $("edit-tags").value = "";
  $("edit-description").value = "";
  statusLine("edit-status", "");
  $("runs").replaceChildren();
  $("detail-body").hidden = true;
  $("detail-runs").hidden = true;
  $("detail-similar").hidden = true;
}

async function showDetail(id, { focus = true } = {}) {
  const ticket = ++shown;
  current = { id };
  clearDetail("Loading…");
  document.title = "Loading… · imgflow";
  let image;
  try {
    image = await api.get(`/images/${encodeURIComponent(id)}`);
  } catch (e) {
    if (ticket !== shown) return;
    current = null;
    const missing = e.status === 404;
    clearDetail(missing ? "Image not found" : "Could not load the image");
    document.title = `${missing ? "Image not found" : "Error"} · imgflow`;
    const line = $("detail-status");
    line.className = "status-line error";
    line.textContent = missing
      ? "There is no image at this address in your account: it was deleted, or the link is wrong."
      : `The image could not be loaded: ${e.message}`;
    if (missing) gone(id, "Deleted: no longer in your account");
    if (focus) $("detail-title").focus({ preventScroll: true });
    return;
  }
  if (ticket !== shown) return;
  $("detail-body").hidden = false;
  $("detail-runs").hidden = false;
  $("detail-similar").hidden = false;
  renderDetail(image);
  if (focus) $("detail-title").focus({ preventScroll: true });
  loadRuns(id, ticket);
  loadSimilar(image);
  if (!FINAL.has(image.status)) {
    watch(id, "detail", (s) => {
      if (!current || current.id !== id) return;
      $("detail-status").textContent = statusText(s);
      if (FINAL.has(s.status)) showDetail(id, { focus: false });
    });
  }
}

function setUpDetail() {
  $("edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    const tags = $("edit-tags")
      .value.split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    statusLine("edit-status", "Saving…");
    try {
      const saved = await api.request("PATCH", `/images/${current.id}`, {
        body: { tags, description: $("edit-description").value },
      });
      current.tags = saved.tags;
      current.description = saved.description;
      $("edit-tags").value = saved.tags.join(", ");
      statusLine("edit-status", "Saved.", "saved");
    } catch (err) {
      statusLine(
        "edit-status",
        err.status === 422 ? "Not saved: tags are up to 64 letters, digits, spaces or _ . : - (at most 20); the description up to 1000 characters." : `Not saved: ${err.message}`,
        "not-saved",
      );
    }
  });
  $("reprocess").addEventListener("click", async () => {
    $("reprocess").disabled = true;
    try {
      const started = await api.request("POST", `/images/${current.id}/reprocess`);
      notice("");
      $("detail-status").textContent = "A new run started…";
      const id = current.id;
      // Follow the new execution through the runs (not an access), then show the new result.
      for (let i = 0; i < 120 && current && current.id === id; i++) {
        await new Promise((r) => setTimeout(r, i < 10 ? 500 : 2000));
        const runs = await api.get(`/images/${id}/runs`).catch(() => null);
        const run = runs && runs.runs.find((r) => r.execution_arn === started.execution_arn);
        if (run && run.status !== "RUNNING") {
          if (current && current.id === id) showDetail(id, { focus: false });
          break;
        }
      }
    } catch (e) {
      notice(`Could not reprocess: ${e.message}`, "error");
      $("reprocess").disabled = false;
    }
  });
  $("delete").addEventListener("click", async () => {
    const image = current;
    const name = image.filename || image.id;
    const yes = await ask(`Delete “${name}”, its original and every rendition? This cannot be undone.`, "Delete", { danger: true });
    if (!yes || current !== image) return;
    try {
      await api.request("DELETE", `/images/${image.id}`);
      gone(image.id, "Deleted");
      location.hash = "#/";
      notice(`Deleted “${name}”.`, "ok");
    } catch (e) {
      notice(`Could not delete: ${e.message}`, "error");
    }
  });
}

// -- routing ----------------------------------------------------------------------------------------------
function route() {
  const match = /^#\/image\/([A-Za-z0-9_-]+)/.exec(location.hash);
  $("gallery-view").hidden = !!match;
  $("detail-view").hidden = !match;
  window.scrollTo(0, 0); // a view opens at its top (the back link visible)
  if (match) {
    notice("");
    showDetail(match[1]);
  } else {
    shown += 1; // an answer still on its way for the detail view is dropped
    current = null;
    document.title = "imgflow";
    loadGallery(true);
  }
}

function showSignIn(text, withButton) {
  $("signin").hidden = false;
  $("signin-text").textContent = text;
  $("signin-button").hidden = !withButton;
}

async function main() {
  try {
    config = await (await fetch("config.json", { cache: "no-store" })).json();
  } catch {
    notice("This page has no configuration (config.json): it is served by `imgflow serve` or the CDK stack.", "error");
    return;
  }
  $("signin-button").addEventListener("click", () => startSignIn(config));
  let who;
  const warnings = [];
  try {
    who = await session(config, {
      confirmSwitch: (from, to) =>
        ask(`This link signs in as “${to}”, and you are signed in as “${from}”. Switch to ${to}?`, `Switch to ${to}`),
      warn: (text, kind = "error") => warnings.push([text, kind]),
    });
  } catch (e) {
    warnings.push([`Sign-in failed: ${e.message}`, "error"]);
  }
  if (warnings.length) {
    notice(warnings.map(([text]) => text).join(" "), warnings.some(([, kind]) => kind === "error") ? "error" : "info");
  }
  if (!who) {
    if ((config.auth || {}).type === "cognito") showSignIn("Sign in with your imgflow account to see and upload your images.", true);
    else
      showSignIn(
        "Open the link that `imgflow serve` printed: it signs you in (each link works once). Another link, for the user of a token: POST /sign-in/links with that token as its bearer.",
        false,
      );
    return;
  }
  api = new Api(config.api || "", who.token, () => {
    localStorage.removeItem("imgflow.session");
    showSignIn("Your sign-in has expired.", (config.auth || {}).type === "cognito");
    $("gallery-view").hidden = true;
    $("detail-view").hidden = true;
  }, await decodableTypes());
  $("who").textContent = `Signed in as ${who.user}`;
  $("sign-out").hidden = false;
  $("sign-out").addEventListener("click", () => signOut(config));
  setUpUploads();
  setUpGallery();
  setUpDetail();
  window.addEventListener("hashchange", route);
  route();
}

// A sign-in link opened in this tab while the page is open: read it as a new visit (see auth.js).
window.addEventListener("hashchange", () => {
  if (/^#\/?(?:.*&)?(?:code|token)=/.test(location.hash)) location.reload();
});

for (const [value, label] of Object.entries(STATUS)) {
  const option = document.querySelector(`#filters option[value="${value}"]`);
  if (option) option.textContent = label.replace("…", "");
}
main();

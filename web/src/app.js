// imgflow's page: uploads with live status, the gallery, an image's detail and its runs.
import { Api, ApiError, decodableTypes, postFile } from "./api.js";
import { session, signOut, startSignIn } from "./auth.js";
import { $, h } from "./dom.js";
import { renderGraph, renderTimeline } from "./graph.js";
import { placeholderCanvas } from "./thumbhash.js";
import { FINAL, STATUS, bytes, exposure, statusText, takenAt, when } from "./words.js";

const PAGE = 24;
const PARALLEL_UPLOADS = 3;
let config;
let api;
const filters = {};
let cursor = null;

// -- notices ----------------------------------------------------------------------------------------------
function notice(text) {
  const el = $("notice");
  el.textContent = text;
  el.hidden = !text;
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

async function upload({ file, item, bar, state, link }) {
  const fail = (text) => {
    item.classList.add("refused");
    bar.remove();
    state.textContent = text;
  };
  let ticket;
  try {
    state.textContent = "Starting…";
    ticket = await api.request("POST", "/uploads", {
      body: { filename: file.name.slice(0, 255) || "image", content_type: contentType(file), size: file.size },
    });
  } catch (e) {
    fail(`Not uploaded: ${e.message}`);
    return;
  }
  item.dataset.id = ticket.id;
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
        link.replaceWith(h("a", { class: "name", href: `#/image/${ticket.id}` }, file.name));
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
  fact(dl, "Camera", [exif.make, exif.model].filter(Boolean).join(" "));
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
  $("edit-status").textContent = "";
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
    notice(`Download failed: ${e.message}`);
  }
}

// The detail's near duplicates (GET /images/{id}/similar), each a small card linking to it.
async function loadSimilar(image) {
  const box = $("similar");
  box.replaceChildren();
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
async function loadRuns(id) {
  const box = $("runs");
  box.replaceChildren(h("p", { class: "hint" }, "Loading runs…"));
  let runs;
  try {
    [workflow, runs] = await Promise.all([workflow || api.get("/workflow"), api.get(`/images/${id}/runs`)]);
  } catch (e) {
    box.replaceChildren(h("p", {}, `Runs are not available: ${e.message}`));
    return;
  }
  if (!current || current.id !== id) return;
  if (!runs.runs.length) {
    box.replaceChildren(h("p", {}, "No runs yet."), renderGraph(workflow, null));
    return;
  }
  box.replaceChildren(
    ...runs.runs.map((run, i) =>
      h(
        "details",
        { class: `run ${run.status.toLowerCase()}`, open: i === 0 },
        h(
          "summary",
          {},
          h("strong", {}, `${run.status[0]}${run.status.slice(1).toLowerCase()}`),
          run.states.length ? ` · ended in ${run.states[run.states.length - 1].name}` : "",
          ` · ${when(run.started_at)} · ${run.duration_s !== null && run.duration_s !== undefined ? `${run.duration_s.toFixed(2)} s` : "running"}`,
          i === 0 ? " · latest" : "",
        ),
        renderTimeline(run),
        renderGraph(workflow, run),
      ),
    ),
  );
}

async function showDetail(id) {
  current = { id };
  $("detail-title").textContent = "Loading…";
  $("detail-facts").replaceChildren();
  $("detail-figure").replaceChildren();
  $("runs").replaceChildren();
  let image;
  try {
    image = await api.get(`/images/${encodeURIComponent(id)}`);
  } catch (e) {
    $("detail-title").textContent = e.status === 404 ? "Image not found" : "Could not load the image";
    $("detail-status").textContent = e.message;
    return;
  }
  renderDetail(image);
  $("detail-title").focus();
  loadRuns(id);
  loadSimilar(image);
  if (!FINAL.has(image.status)) {
    watch(id, "detail", (s) => {
      if (!current || current.id !== id) return;
      $("detail-status").textContent = statusText(s);
      if (FINAL.has(s.status)) showDetail(id);
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
    $("edit-status").textContent = "Saving…";
    try {
      const saved = await api.request("PATCH", `/images/${current.id}`, {
        body: { tags, description: $("edit-description").value },
      });
      current.tags = saved.tags;
      current.description = saved.description;
      $("edit-tags").value = saved.tags.join(", ");
      $("edit-status").textContent = "Saved.";
    } catch (err) {
      $("edit-status").textContent =
        err.status === 422 ? "Not saved: tags are up to 64 letters, digits, spaces or _ . : - (at most 20); the description up to 1000 characters." : `Not saved: ${err.message}`;
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
          if (current && current.id === id) showDetail(id);
          break;
        }
      }
    } catch (e) {
      notice(`Could not reprocess: ${e.message}`);
      $("reprocess").disabled = false;
    }
  });
  $("delete").addEventListener("click", () => {
    const dialog = $("confirm");
    $("confirm-text").textContent = `Delete “${current.filename || current.id}”, its original and every rendition? This cannot be undone.`;
    dialog.returnValue = "";
    dialog.showModal();
  });
  $("confirm").addEventListener("close", async () => {
    if ($("confirm").returnValue !== "ok") return;
    const name = current.filename || current.id;
    try {
      await api.request("DELETE", `/images/${current.id}`);
      location.hash = "#/";
      notice(`Deleted “${name}”.`);
    } catch (e) {
      notice(`Could not delete: ${e.message}`);
    }
  });
}

// -- routing ----------------------------------------------------------------------------------------------
function route() {
  const match = /^#\/image\/([A-Za-z0-9_-]+)/.exec(location.hash);
  $("gallery-view").hidden = !!match;
  $("detail-view").hidden = !match;
  if (match) {
    notice("");
    showDetail(match[1]);
  } else {
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
    notice("This page has no configuration (config.json): it is served by `imgflow serve` or the CDK stack.");
    return;
  }
  $("signin-button").addEventListener("click", () => startSignIn(config));
  let who;
  try {
    who = await session(config);
  } catch (e) {
    notice(`Sign-in failed: ${e.message}`);
  }
  if (!who) {
    if ((config.auth || {}).type === "cognito") showSignIn("Sign in with your imgflow account to see and upload your images.", true);
    else
      showSignIn(
        "Open the link that `imgflow serve` printed: it signs you in. For another local user, run `imgflow token NAME` and open this page with #token=<the token> at the end of its address.",
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

for (const [value, label] of Object.entries(STATUS)) {
  const option = document.querySelector(`#filters option[value="${value}"]`);
  if (option) option.textContent = label.replace("…", "");
}
main();

// Statuses, reasons and sizes in words.

export const FINAL = new Set(["PROCESSED", "REJECTED", "FAILED"]);

export const STATUS = {
  PENDING: "Waiting for the upload",
  PROCESSING: "Processing…",
  PROCESSED: "Processed",
  REJECTED: "Rejected",
  FAILED: "Failed",
  EXPIRED: "Upload never arrived",
};

/** An upload the API recognised by its SHA-256: the owner already has these bytes, processed. */
export const ALREADY_THERE = "Already in your images: the same file was not uploaded again";

/** Each rejection in one plain sentence: what is wrong and what to do (docs/formats.md, "Reasons"). */
export const REASONS = {
  invalid_image: "This file is not an image imgflow can read: upload a JPEG, PNG, GIF, WebP, HEIC or AVIF photo.",
  empty: "The file is empty: upload the photo again.",
  too_large: "The file is larger than the upload limit: upload a smaller export of the photo.",
  too_many_pixels: "The image has more pixels than imgflow can process: resize it and upload it again.",
  unsupported_format: "This image format is not accepted: convert it to JPEG, PNG, WebP, HEIC or AVIF.",
  truncated: "The file is cut short, as if its upload or copy stopped early: upload the original again.",
  corrupt: "The image data is damaged: copy or export the photo again from where it came from.",
  bad_key: "This file did not come through an upload imgflow handed out: upload it through the page again.",
};

/** "Rejected: The file is cut short, …: upload the original again." (the technical message is in the run). */
export function statusText(item) {
  const label = STATUS[item.status] || item.status;
  const message = item.error && item.error.message;
  if (item.status === "REJECTED") {
    return `${label}: ${REASONS[item.reason] || message || "no reason given"}`;
  }
  if (item.status === "FAILED") {
    const type = item.error && item.error.type;
    return `${label}: ${message || type || "unknown error"}${type && message ? ` (${type})` : ""}`;
  }
  return label;
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function seconds(s) {
  if (s === null || s === undefined) return "";
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

const NBSP = "\u00a0"; // a number and its unit never break apart ("35 mm", "ISO 200")

export function exposure(exif) {
  const parts = [];
  if (exif.exposure_time) {
    const t = exif.exposure_time;
    parts.push(t < 1 ? `1/${Math.round(1 / t)}${NBSP}s` : `${t}${NBSP}s`);
  }
  if (exif.f_number) parts.push(`f/${Number(exif.f_number).toFixed(1).replace(/\.0$/, "")}`);
  if (exif.iso) parts.push(`ISO${NBSP}${exif.iso}`);
  if (exif.focal_length) parts.push(`${Math.round(exif.focal_length)}${NBSP}mm`);
  return parts.join(" · ");
}

/**
 * Make and model without the make twice: "Canon" + "Canon EOS R6" and "Canon" + "EOS R6" are both
 * "Canon EOS R6"; "NIKON CORPORATION" + "NIKON D750" is "NIKON D750" (models often repeat the make's name).
 */
export function camera(make, model) {
  const m = (make || "").trim();
  const n = (model || "").trim();
  if (!m || !n) return m || n;
  const brand = m.split(/\s+/)[0].toLowerCase();
  const first = n.split(/\s+/)[0].toLowerCase();
  return first === brand || n.toLowerCase().startsWith(m.toLowerCase()) ? n : `${m} ${n}`;
}

/** EXIF time as written by the camera, with its UTC offset when the file has one. */
export function takenAt(text) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?([+-]\d{2}:\d{2}|Z)?$/.exec(text || "");
  if (!m) return text || "";
  const offset = m[3] === "Z" ? "+00:00" : m[3];
  return `${m[1]} ${m[2]} ${offset ? `(UTC${offset})` : "(camera time, no UTC offset recorded)"}`;
}

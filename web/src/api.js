// The imgflow API over fetch, and the presigned POST upload with progress (XMLHttpRequest: fetch has none).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A 1x1 picture of each format, made with Pillow: the browser decodes it or not (a feature test, no
// user-agent sniffing). Best first, as the API ranks them.
const PROBES = [
  ["image/avif", "data:image/avif;base64,AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEAAAETAAAAKAAAAChpaW5mAAAAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAAAEtpcGNvAAAAFGlzcGUAAAAAAAAAAQAAAAEAAAAQcGl4aQAAAAADCAgIAAAADGF2MUOBAAwAAAAAE2NvbHJuY2x4AAEADQAGgAAAABdpcG1hAAAAAAAAAAEAAQQBAoMEAAAAMG1kYXQSAAoIGAAGiAhoNCAyGhlHh4Yhh5555oAAAJBAyRxhSytNj1FFTqSg"],
  ["image/webp", "data:image/webp;base64,UklGRjgAAABXRUJQVlA4ICwAAACQAQCdASoBAAEAAsBMJaACdLoAA5gA/u5DH+5sc4twV/9tD/9aH/60P+lAAA=="],
];

/** The image types beyond JPEG and PNG that this browser shows, best first. */
export async function decodableTypes() {
  const shown = await Promise.all(
    PROBES.map(async ([type, src]) => {
      const img = new Image();
      img.src = src;
      try {
        await img.decode();
        return img.naturalWidth === 1 ? type : null;
      } catch {
        return null;
      }
    }),
  );
  return shown.filter(Boolean);
}

export class Api {
  /** `imageTypes` (from decodableTypes) go into Accept: the API answers with the best rendition format of them. */
  constructor(base, token, onUnauthorized, imageTypes = []) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.accept = ["application/json", ...imageTypes].join(", ");
  }

  async request(method, path, { query, body } = {}) {
    const url = new URL(this.base + path, location.href);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const headers = { Authorization: `Bearer ${this.token}`, Accept: this.accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "the API could not be reached; check your connection");
    }
    if (response.status === 401) {
      this.onUnauthorized();
      throw new ApiError(401, "your sign-in has expired; sign in again");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data.message || `HTTP ${response.status}`);
    return data;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }
}

/** S3's error XML in words (the message S3 gives, e.g. for a file over the policy's size range). */
function s3Message(xhr) {
  const doc = xhr.responseXML;
  const code = doc && doc.querySelector("Code");
  const message = doc && doc.querySelector("Message");
  if (code && code.textContent === "EntityTooLarge") return "the file is larger than the upload allows";
  if (message) return message.textContent;
  return `the storage service answered ${xhr.status}`;
}

/** POST `file` with the presigned form; `onProgress(fraction)`. Resolves on S3's 2xx. */
export function postFile(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(s3Message(xhr)));
    });
    xhr.addEventListener("error", () => reject(new Error("the upload was interrupted (network error)")));
    xhr.addEventListener("abort", () => reject(new Error("the upload was cancelled")));
    xhr.send(form);
  });
}

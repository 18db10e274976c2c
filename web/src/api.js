// The imgflow API over fetch, and the presigned POST upload with progress (XMLHttpRequest: fetch has none).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(base, token, onUnauthorized) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { query, body } = {}) {
    const url = new URL(this.base + path, location.href);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const headers = { Authorization: `Bearer ${this.token}` };
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

// Sign-in: the one-time link of `imgflow serve` (#code=..., exchanged once for a token), or the Cognito hosted
// sign-in (authorization code + PKCE). A token is never taken from the address: it would stay in the
// browser's history, and anyone could hand over a link with another user's or a forged token.
const SESSION = "imgflow.session";
const PKCE = "imgflow.pkce";

function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(n = 48) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** The claims of a JWT (not verified here: the API verifies every request). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return null;
  }
}

function load() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION) || "null");
    if (session && session.token && session.expires > Date.now() / 1000 + 30) return session;
    return session && session.refresh ? session : null;
  } catch {
    return null;
  }
}

function save(token, extra = {}) {
  const c = claims(token);
  if (!c || !c.exp) return null;
  const session = {
    token,
    expires: c.exp,
    user: extra.user || c.email || c.username || c["cognito:username"] || c.sub,
    refresh: extra.refresh || null,
  };
  localStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}

export function signOut(config) {
  localStorage.removeItem(SESSION);
  const auth = config.auth || {};
  if (auth.type === "cognito") {
    const url = new URL("/logout", auth.domain);
    url.searchParams.set("client_id", auth.client_id);
    url.searchParams.set("logout_uri", auth.redirect_uri);
    location.assign(url);
  } else {
    location.hash = "#/";
    location.reload();
  }
}

async function tokenRequest(auth, params) {
  const response = await fetch(new URL("/oauth2/token", auth.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: auth.client_id, ...params }),
  });
  if (!response.ok) throw new Error(`sign-in failed (${response.status})`);
  return response.json();
}

/** Redirect to the hosted sign-in page (authorization code with PKCE). */
export async function startSignIn(config) {
  const auth = config.auth;
  const verifier = randomText(48);
  const state = randomText(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, back: location.hash }));
  const url = new URL("/oauth2/authorize", auth.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: auth.redirect_uri,
    scope: (auth.scopes || ["openid", "email"]).join(" "),
    state,
    code_challenge_method: "S256",
    code_challenge: b64url(new Uint8Array(digest)),
  }).toString();
  location.assign(url);
}

/** The local sign-in link's one-time code for its user's token (POST /sign-in of `imgflow serve`). */
async function exchange(config, code) {
  let response;
  try {
    response = await fetch(`${(config.api || "").replace(/\/$/, "")}/sign-in`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }),
      cache: "no-store",
    });
  } catch {
    throw new Error("the server could not be reached");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.token) throw new Error(data.message || `the server answered ${response.status}`);
  return data;
}

/**
 * The current session ({token, user}) or null. A local sign-in link (`#code=`) is taken out of the address
 * bar first, then exchanged once for a token; when someone else is signed in, `confirmSwitch(from, to)`
 * decides. A `#token=` (or any other secret) in the address is removed and never used. Cognito's `?code=`
 * callback goes through PKCE. `warn(text)` tells what was not used and why.
 */
export async function session(config, { confirmSwitch = async () => false, warn = () => {} } = {}) {
  const auth = config.auth || { type: "local" };
  const fragment = new URLSearchParams(location.hash.replace(/^#\/?/, ""));
  const secrets = ["code", "token", "access_token", "id_token"].filter((k) => fragment.has(k));
  if (secrets.length) history.replaceState(null, "", location.pathname + location.search + "#/");
  if (fragment.has("token") || fragment.has("access_token") || fragment.has("id_token")) {
    warn("A sign-in link with a token in it is not accepted: use a link from `imgflow serve` or sign in.");
  }
  if (auth.type !== "cognito" && fragment.get("code")) {
    const current = load();
    try {
      const got = await exchange(config, fragment.get("code"));
      if (current && current.user !== got.user && !(await confirmSwitch(current.user, got.user))) {
        warn(`You are still signed in as ${current.user}.`, "info");
        return current;
      }
      const saved = save(got.token, { user: got.user });
      if (saved) return saved;
    } catch (e) {
      warn(`This sign-in link did not work: ${e.message}.${current ? ` You are still signed in as ${current.user}.` : ""}`);
    }
  }
  if (auth.type === "cognito") {
    const query = new URLSearchParams(location.search);
    if (query.get("code")) {
      const pending = JSON.parse(sessionStorage.getItem(PKCE) || "null");
      sessionStorage.removeItem(PKCE);
      history.replaceState(null, "", location.pathname + ((pending && pending.back) || "#/"));
      if (!pending || pending.state !== query.get("state")) throw new Error("sign-in state mismatch; try again");
      const tokens = await tokenRequest(auth, {
        grant_type: "authorization_code",
        code: query.get("code"),
        redirect_uri: auth.redirect_uri,
        code_verifier: pending.verifier,
      });
      const c = claims(tokens.id_token || "") || {};
      return save(tokens.access_token, { refresh: tokens.refresh_token, user: c.email });
    }
    if (query.get("error")) {
      history.replaceState(null, "", location.pathname + "#/");
      throw new Error(query.get("error_description") || query.get("error"));
    }
  }
  const stored = load();
  if (stored && stored.expires > Date.now() / 1000 + 30) return stored;
  if (stored && stored.refresh && auth.type === "cognito") {
    try {
      const tokens = await tokenRequest(auth, { grant_type: "refresh_token", refresh_token: stored.refresh });
      return save(tokens.access_token, { refresh: stored.refresh, user: stored.user });
    } catch {
      localStorage.removeItem(SESSION);
    }
  }
  return null;
}

// h("p", {class: "x"}, "text", child): DOM without innerHTML (text is always text, never markup).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== "" && c !== null && c !== undefined) el.append(c);
  return el;
}

export const $ = (id) => document.getElementById(id);

// A run's timeline (table) and the state machine's graph (SVG, laid out from GET /workflow) with the run's
// path, retries and failed state highlighted.
import dagre from "./dagre.js";
import { h } from "./dom.js";
import { seconds, when } from "./words.js";

const SVG = "http://www.w3.org/2000/svg";
const H = 30; // a box's height; its width fits its name
const FONT = "12px system-ui, sans-serif"; // as .graph in style.css

/** A timeline error ({error, cause} or text) in one line. */
function errorText(e) {
  if (!e) return "";
  if (typeof e === "string") return e;
  return `${e.error || "Error"}${e.cause ? `: ${e.cause}` : ""}`;
}

const failedState = (st) => st.status === "FAILED" || st.status === "CAUGHT" || (!!st.error && st.status !== "SUCCEEDED");

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

let measure = null;
function textWidth(text) {
  measure ||= document.createElement("canvas").getContext("2d");
  measure.font = FONT;
  return measure.measureText(text).width;
}

/**
 * The graph laid out by dagre (a layered layout: ranks top to bottom, crossings minimised, every edge
 * routed between the boxes through points of its own). A state ending a Parallel branch (no way out)
 * continues at its parent's successors ("join" edges).
 */
export function layout(graph) {
  const byName = new Map(graph.states.map((st) => [st.name, st]));
  const edges = graph.edges.filter((e) => byName.has(e.from) && byName.has(e.to)).map((e) => ({ ...e }));
  const out = (n) => edges.filter((e) => e.from === n);
  for (const st of graph.states) {
    if (st.parent && byName.has(st.parent) && out(st.name).length === 0 && !/^(Succeed|Fail)$/.test(st.type)) {
      for (const e of out(st.parent).filter((x) => x.kind === "next")) {
        edges.push({ from: st.name, to: e.to, kind: "join" });
      }
    }
  }
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 12, ranksep: 30, edgesep: 4, marginx: 6, marginy: 6 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const st of graph.states) g.setNode(st.name, { width: Math.ceil(textWidth(st.name)) + 20, height: H });
  edges.forEach((e, i) => g.setEdge(e.from, e.to, {}, String(i)));
  dagre.layout(g);
  const boxes = new Map(
    graph.states.map((st) => {
      const n = g.node(st.name);
      return [st.name, { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height }];
    }),
  );
  edges.forEach((e, i) => {
    const points = g.edge({ v: e.from, w: e.to, name: String(i) }).points.map((p) => ({ ...p }));
    // dagre ends an edge where the line to its next point leaves the box, which may be a side: then
    // its first run passes beside the box, through a neighbour in the same rank. Leave and enter through
    // the bottom or top instead, which face the gap between ranks, where no box is.
    points[0] = port(boxes.get(e.from), points[1]);
    points[points.length - 1] = port(boxes.get(e.to), points[points.length - 2]);
    e.points = points;
  });
  const { width, height } = g.graph();
  return { edges, boxes, width: Math.ceil(width), height: Math.ceil(height) };
}

/** Where an edge toward (or from) `p` meets `box`: its bottom or top side, straight above or below `p` where it can. */
function port(box, p) {
  const inset = Math.min(10, box.width / 4);
  const x = Math.min(Math.max(p.x, box.x + inset), box.x + box.width - inset);
  return { x, y: p.y > box.y + box.height / 2 ? box.y + box.height : box.y };
}

/** A path through dagre's points: straight runs, corners rounded inside the polyline's bends. */
function pathData(points) {
  const r = (v) => Math.round(v * 10) / 10;
  let d = `M${r(points[0].x)},${r(points[0].y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const a = points[i - 1];
    const b = points[i + 1];
    const cut = (from, to) => {
      const len = Math.hypot(to.x - from.x, to.y - from.y) || 1;
      const k = Math.min(8, len / 2) / len;
      return { x: from.x + (to.x - from.x) * k, y: from.y + (to.y - from.y) * k };
    };
    const p1 = cut(p, a);
    const p2 = cut(p, b);
    d += ` L${r(p1.x)},${r(p1.y)} Q${r(p.x)},${r(p.y)} ${r(p2.x)},${r(p2.y)}`;
  }
  const last = points[points.length - 1];
  return `${d} L${r(last.x)},${r(last.y)}`;
}

/** What the run did to each state: visited order, failed, retries. */
function runMarks(run) {
  const marks = new Map();
  (run ? run.states : []).forEach((st, i) => {
    const m = marks.get(st.name) || { index: i, retries: 0, failed: false };
    m.retries += (st.retries || []).length;
    m.failed ||= failedState(st);
    marks.set(st.name, m);
  });
  return marks;
}

function describe(run, marks) {
  if (!run) return "Workflow graph.";
  const path = run.states.map((st) => st.name).join(", then ");
  const failed = [...marks].filter(([, m]) => m.failed).map(([n]) => n);
  const retried = [...marks].filter(([, m]) => m.retries).map(([n, m]) => `${n} (${m.retries})`);
  return (
    `Workflow graph. This run went through ${path}.` +
    (retried.length ? ` Retried: ${retried.join(", ")}.` : "") +
    (failed.length ? ` Failed at ${failed.join(", ")}.` : "")
  );
}

export function renderGraph(graph, run) {
  const { edges, boxes, width, height } = layout(graph);
  const marks = runMarks(run);
  // Drawn at its natural size, and scaled down (viewBox) where the page is narrower: style.css.
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "graph",
    role: "img",
    "aria-label": describe(run, marks),
  });
  const marker = (id) =>
    s(
      "marker",
      { id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "8", markerHeight: "8", markerUnits: "userSpaceOnUse", orient: "auto" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: `arrowhead ${id}` }),
    );
  svg.append(s("defs", {}, marker("arrow"), marker("arrow-taken"), marker("arrow-caught")));
  for (const e of edges) {
    const ma = marks.get(e.from);
    const mb = marks.get(e.to);
    const taken = ma && mb && mb.index > ma.index;
    const path = s("path", {
      d: pathData(e.points),
      class: `edge ${e.kind}${taken ? " taken" : ""}`,
      "data-from": e.from,
      "data-to": e.to,
      "marker-end": `url(#${taken ? (e.kind === "catch" ? "arrow-caught" : "arrow-taken") : "arrow"})`,
    });
    path.append(s("title", {}, `${e.from} → ${e.to} (${e.kind === "catch" ? "on error" : e.kind})`));
    svg.append(path);
  }
  const byName = new Map(graph.states.map((st) => [st.name, st]));
  for (const [name, box] of boxes) {
    const st = byName.get(name);
    const m = marks.get(name);
    const cls = ["node", `t-${(st.type || "").toLowerCase()}`];
    if (m) cls.push(m.failed ? "failed" : "visited");
    if (m && m.retries) cls.push("retried");
    const g = s("g", { class: cls.join(" "), "data-name": name, transform: `translate(${box.x},${box.y})` });
    g.append(s("title", {}, `${name} (${st.type})${st.comment ? `: ${st.comment}` : ""}`));
    g.append(s("rect", { width: box.width, height: box.height, rx: st.type === "Succeed" || st.type === "Fail" ? box.height / 2 : 6 }));
    g.append(s("text", { x: box.width / 2, y: box.height / 2 + 4, "text-anchor": "middle" }, name));
    if (m && m.retries) {
      g.append(s("circle", { cx: box.width - 2, cy: 2, r: 9, class: "badge" }));
      g.append(s("text", { x: box.width - 2, y: 6, "text-anchor": "middle", class: "badge-text" }, `↻${m.retries}`));
    }
    svg.append(g);
  }
  return h("div", { class: "graph-wrap" }, svg, legend());
}

function legend() {
  return h(
    "ul",
    { class: "legend", "aria-hidden": "true" },
    h("li", {}, h("span", { class: "key visited" }), "ran"),
    h("li", {}, h("span", { class: "key failed" }), "failed"),
    h("li", {}, h("span", { class: "key retried" }), "retried (↻ count)"),
    h("li", {}, h("span", { class: "key catch" }), "error path (Catch)"),
  );
}

function trimmed(value) {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 1);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** The run's states in the order they ran: start offset, a bar, duration, retries, error. */
export function renderTimeline(run) {
  const t0 = Date.parse(run.started_at);
  const total = Math.max(run.duration_s || 0, ...run.states.map((st) => (Date.parse(st.started_at) - t0) / 1000 + (st.duration_s || 0)), 0.001);
  const rows = run.states.map((st) => {
    const start = (Date.parse(st.started_at) - t0) / 1000;
    const bar = h("span", { class: `bar${failedState(st) ? " failed" : ""}` });
    // Through the CSSOM, which the page's CSP (style-src 'self') allows; a style attribute it blocks.
    bar.style.left = `${(100 * Math.max(0, start)) / total}%`;
    bar.style.width = `${Math.max(1, (100 * (st.duration_s || 0)) / total)}%`;
    const retries = (st.retries || []).map((r) => h("li", {}, `retried after ${errorText(r)}`));
    const io = h(
      "details",
      { class: "io" },
      h("summary", {}, "Input and output"),
      h("h4", {}, "Input"),
      h("pre", {}, trimmed(st.input)),
      h("h4", {}, "Output"),
      h("pre", {}, trimmed(st.output)),
    );
    return h(
      "tr",
      { class: failedState(st) ? "failed" : "", role: "row" },
      h("th", { scope: "row", role: "rowheader" }, st.parent ? h("span", { class: "nested" }, `${st.parent} › `) : "", st.name),
      h("td", { role: "cell", "data-label": "Result" }, st.status || ""),
      h("td", { class: "num", role: "cell", "data-label": "Start" }, `+${seconds(Math.max(0, start))}`),
      h("td", { class: "num", role: "cell", "data-label": "Took" }, seconds(st.duration_s)),
      h("td", { class: "span", "aria-hidden": "true" }, h("span", { class: "track" }, bar)),
      h(
        "td",
        { role: "cell", class: "notes" },
        retries.length ? h("ul", { class: "retries" }, ...retries) : "",
        st.error ? h("p", { class: "error" }, errorText(st.error), st.caught_by ? ` → caught, went on to ${st.caught_by}` : "") : "",
        st.input !== undefined || st.output !== undefined ? io : "",
      ),
    );
  });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "timeline", role: "table" },
      h("caption", {}, `Started ${when(run.started_at)}; ${run.status.toLowerCase()} after ${seconds(run.duration_s)}`),
      h(
        "thead",
        { role: "rowgroup" },
        h(
          "tr",
          { role: "row" },
          h("th", { scope: "col", role: "columnheader" }, "State"),
          h("th", { scope: "col", role: "columnheader" }, "Result"),
          h("th", { scope: "col", role: "columnheader" }, "Start"),
          h("th", { scope: "col", role: "columnheader" }, "Took"),
          h("th", { scope: "col", class: "span", "aria-hidden": "true" }, "Timeline"),
          h("th", { scope: "col", role: "columnheader" }, "Retries and errors"),
        ),
      ),
      h("tbody", { role: "rowgroup" }, ...rows),
    ),
  );
}

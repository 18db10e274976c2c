// A run's timeline (table) and the state machine's graph (SVG, laid out from GET /workflow) with the run's
// path, retries and failed state highlighted.
import { h } from "./dom.js";
import { seconds, when } from "./words.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 148;
const H = 34;
const GAP_X = 18;
const GAP_Y = 42;
const PAD = 12;

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

/** Layers by longest path from the start (back edges ignored), branch ends joined to their parent's next. */
function layout(graph) {
  const names = graph.states.map((st) => st.name);
  const byName = new Map(graph.states.map((st) => [st.name, st]));
  const edges = graph.edges.filter((e) => byName.has(e.from) && byName.has(e.to)).map((e) => ({ ...e }));
  const out = (n) => edges.filter((e) => e.from === n);
  // A state ending a Parallel branch (no way out) continues at its parent's successors.
  for (const st of graph.states) {
    if (st.parent && byName.has(st.parent) && out(st.name).length === 0 && !/^(Succeed|Fail)$/.test(st.type)) {
      for (const e of out(st.parent).filter((x) => x.kind === "next")) {
        edges.push({ from: st.name, to: e.to, kind: "join" });
      }
    }
  }
  const incoming = new Set(edges.map((e) => e.to));
  const starts = graph.states.filter((st) => st.start && !st.parent).map((st) => st.name);
  const roots = starts.length ? starts : names.filter((n) => !incoming.has(n) && !byName.get(n).parent);
  if (!roots.length && names.length) roots.push(names[0]);
  // DFS: edges into a node still on the stack are back edges (loops); the rest form a DAG.
  const order = [];
  const state = new Map();
  const back = new Set();
  const visit = (n) => {
    state.set(n, 1);
    for (const e of out(n)) {
      if (state.get(e.to) === 1) back.add(e);
      else if (!state.has(e.to)) visit(e.to);
    }
    state.set(n, 2);
    order.push(n);
  };
  for (const r of roots) if (!state.has(r)) visit(r);
  for (const n of names) if (!state.has(n)) visit(n);
  order.reverse();
  const layer = new Map(names.map((n) => [n, 0]));
  for (const n of order) {
    for (const e of out(n)) if (!back.has(e)) layer.set(e.to, Math.max(layer.get(e.to), layer.get(n) + 1));
  }
  const rows = [];
  for (const n of order) (rows[layer.get(n)] ||= []).push(n);
  // One pass of barycentre ordering keeps edges short.
  const x = new Map();
  rows.forEach((row, i) => {
    if (i > 0) {
      const centre = (n) => {
        const xs = edges.filter((e) => e.to === n && x.has(e.from)).map((e) => x.get(e.from));
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
      };
      row.sort((a, b) => centre(a) - centre(b));
    }
    row.forEach((n, j) => x.set(n, j - (row.length - 1) / 2));
  });
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * W + (widest - 1) * GAP_X + 2 * PAD;
  const pos = new Map();
  for (const n of names) {
    pos.set(n, {
      x: width / 2 + x.get(n) * (W + GAP_X) - W / 2,
      y: PAD + layer.get(n) * (H + GAP_Y),
    });
  }
  return { edges, back, pos, width, height: PAD * 2 + rows.length * H + (rows.length - 1) * GAP_Y };
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
  const { edges, back, pos, width, height } = layout(graph);
  const marks = runMarks(run);
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
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const ma = marks.get(e.from);
    const mb = marks.get(e.to);
    const taken = ma && mb && mb.index > ma.index;
    let d;
    if (back.has(e) || b.y <= a.y) {
      const side = Math.max(a.x, b.x) + W + 14;
      d = `M${a.x + W},${a.y + H / 2} C${side},${a.y + H / 2} ${side},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`;
    } else {
      const x1 = a.x + W / 2;
      const y1 = a.y + H;
      const x2 = b.x + W / 2;
      const y2 = b.y;
      const mid = (y1 + y2) / 2;
      d = `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`;
    }
    const path = s("path", {
      d,
      class: `edge ${e.kind}${taken ? " taken" : ""}`,
      "marker-end": `url(#${taken ? (e.kind === "catch" ? "arrow-caught" : "arrow-taken") : "arrow"})`,
    });
    path.append(s("title", {}, `${e.from} → ${e.to} (${e.kind})`));
    svg.append(path);
  }
  const byName = new Map(graph.states.map((st) => [st.name, st]));
  for (const [name, p] of pos) {
    const st = byName.get(name);
    const m = marks.get(name);
    const cls = ["node", `t-${(st.type || "").toLowerCase()}`];
    if (m) cls.push(m.failed ? "failed" : "visited");
    if (m && m.retries) cls.push("retried");
    const g = s("g", { class: cls.join(" "), transform: `translate(${p.x},${p.y})` });
    g.append(s("title", {}, `${name} (${st.type})${st.comment ? `: ${st.comment}` : ""}`));
    g.append(s("rect", { width: W, height: H, rx: st.type === "Succeed" || st.type === "Fail" ? 17 : 6 }));
    const label = name.length > 19 ? `${name.slice(0, 18)}…` : name;
    g.append(s("text", { x: W / 2, y: H / 2 + 4, "text-anchor": "middle" }, label));
    if (m && m.retries) {
      g.append(s("circle", { cx: W - 2, cy: 2, r: 9, class: "badge" }));
      g.append(s("text", { x: W - 2, y: 6, "text-anchor": "middle", class: "badge-text" }, `↻${m.retries}`));
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
    const bar = h("span", {
      class: `bar ${failedState(st) ? "failed" : ""}`,
      style: `left:${(100 * Math.max(0, start)) / total}%;width:${Math.max(1, (100 * (st.duration_s || 0)) / total)}%`,
    });
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
          h("th", { scope: "col", class: "span", "aria-hidden": "true" }),
          h("th", { scope: "col", role: "columnheader" }, "Retries and errors"),
        ),
      ),
      h("tbody", { role: "rowgroup" }, ...rows),
    ),
  );
}

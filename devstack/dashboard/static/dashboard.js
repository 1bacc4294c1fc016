// The faas-etl dashboard page: one snapshot on load (with the chart history), then one
// server-sent event per collection round. No framework and nothing fetched from elsewhere:
// the page must work on a machine with no network but the stack's.
"use strict";

const PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2",
                 "#db2777", "#65a30d", "#9333ea", "#ea580c", "#0d9488", "#4b5563"];
const SVG = "http://www.w3.org/2000/svg";
let series = [];          // chart points, oldest first (view.point of each round)
let maxPoints = 300;
const seenFeed = new Set();  // feed items already shown (only new ones flash)

// -- small helpers --------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
const fmtInt = new Intl.NumberFormat("en-US", {maximumFractionDigits: 0});
function fmt(n) { return n === null || n === undefined ? "–" : fmtInt.format(n); }
function fmtRate(n) {
  if (n === null || n === undefined) return "–";
  return n >= 100 ? fmtInt.format(n) : n.toFixed(1);
}
function clock(t) { return t ? new Date(t * 1000).toLocaleTimeString("en-GB") : "–"; }
function num(n) { return {"data-value": String(n)}; }   // exact value for scripts and tests
function color(i) { return PALETTE[i % PALETTE.length]; }
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
// faas-etl.<workflow>.<topic> (etlkit.workflow.names) reads best as its workflow.
function groupLabel(group, topic) {
  const m = group.match(/^faas-etl\.(.+)\.([^.]+)$/);
  return m && m[2] === topic ? m[1] : group;
}

// -- charts ---------------------------------------------------------------------------------
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// A line chart of the named series over the kept points; a legend follows the svg.
function lineChart(target, pick, names, opts = {}) {
  const width = Math.max(target.clientWidth || 600, 200), height = target.clientHeight || 170;
  const pad = {l: 52, r: 10, t: 8, b: 20};
  target.setAttribute("viewBox", `0 0 ${width} ${height}`);
  target.replaceChildren();
  const pts = series.filter(p => p && p.t);
  const t1 = pts.length ? pts[pts.length - 1].t : 0;
  const t0 = pts.length ? Math.min(pts[0].t, t1 - 30) : -30;
  let top = 0;
  for (const p of pts) for (const n of names) top = Math.max(top, (pick(p) || {})[n] || 0);
  // Counts (replicas) get whole-number gridlines; rates and backlogs a rounded top.
  top = opts.integer ? 4 * Math.max(1, Math.ceil((top + 1) / 4)) : niceMax(top * 1.05);
  const x = t => pad.l + (width - pad.l - pad.r) * (t - t0) / Math.max(1, t1 - t0);
  const y = v => height - pad.b - (height - pad.t - pad.b) * v / top;
  for (let i = 0; i <= 4; i++) {
    const v = top * i / 4, yy = y(v);
    target.append(svg("line", {x1: pad.l, x2: width - pad.r, y1: yy, y2: yy,
                               stroke: i ? "#e5e9ef" : "#b6c0cc"}));
    target.append(svg("text", {x: pad.l - 6, y: yy + 4, "text-anchor": "end"},
                      v >= 100 ? fmtInt.format(v) : +v.toFixed(1)));
  }
  const span = t1 - t0;
  for (const back of [span, span / 2, 0]) {
    const label = back === 0 ? "now" : `-${Math.round(back)}s`;
    target.append(svg("text", {x: x(t1 - back), y: height - 4,
                               "text-anchor": back === 0 ? "end" : back === span ? "start" : "middle"}, label));
  }
  names.forEach((n, i) => {
    const coords = pts.filter(p => (pick(p) || {})[n] !== undefined)
                      .map(p => `${x(p.t).toFixed(1)},${y(pick(p)[n]).toFixed(1)}`);
    if (coords.length > 1) {
      target.append(svg("polyline", {points: coords.join(" "), fill: "none", stroke: color(i),
                                     "stroke-width": 2, "stroke-linejoin": "round"}));
    }
  });
  let legend = target.nextElementSibling;
  if (!legend || !legend.classList.contains("legend")) {
    legend = el("div", {class: "legend"});
    target.after(legend);
  }
  legend.replaceChildren(...names.map((n, i) => el("span", {}, el("i", {style: `background:${color(i)}`}), n)));
}

function sparkline(values, colour) {
  const s = svg("svg", {class: "spark", viewBox: "0 0 120 24", preserveAspectRatio: "none"});
  const top = Math.max(...values, 0) || 1;
  if (values.length > 1) {
    const pts = values.map((v, i) => `${(120 * i / (values.length - 1)).toFixed(1)},${(22 - 20 * v / top).toFixed(1)}`);
    s.append(svg("polyline", {points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5}));
  }
  return s;
}

// -- panels ---------------------------------------------------------------------------------
function renderHeader(view) {
  // Each running workflow with who started it: `up -w` or the workflow manager (whose runs
  // join the page while it runs, topics and table included).
  const parts = view.workflow_parts || (view.workflows || []).map(name => ({name}));
  document.getElementById("workflows").textContent = parts.length ? "workflows: " + parts.map(p =>
    p.started_by ? `${p.name} (${p.started_by}${p.state && p.state !== "wired" ? ", " + p.state : ""})` : p.name
  ).join(", ") : "";
  document.getElementById("updated").textContent = "updated " + clock(view.at);
  const sources = ["gateway", "replicas", "controller", "kafka", "warehouse"];
  document.getElementById("sources").replaceChildren(...sources.map(s => el("span",
    {class: "src" + (view.errors && view.errors[s] ? " down" : ""), title: (view.errors || {})[s] || "ok",
     "data-source": s}, el("span", {class: "dot"}), s)));
  const errors = Object.entries(view.errors || {});
  const box = document.getElementById("errors");
  box.hidden = errors.length === 0;
  box.replaceChildren(...errors.map(([k, v]) => el("div", {}, el("b", {}, k + ": "), v)));
}

function renderTiles(view) {
  const t = view.totals || {};
  const put = (id, text, value) => {
    const node = document.getElementById(id);
    node.textContent = text;
    node.setAttribute("data-value", String(value));
  };
  put("t-ingest", fmtRate(t.ingest_rate), t.ingest_rate);
  put("t-backlog", fmt(t.backlog), t.backlog);
  put("t-dead", fmt(t.dead_letters), t.dead_letters);
  put("t-failed", fmt(t.failed_calls), t.failed_calls);
  put("t-replicas", fmt(t.replicas), t.replicas);
  put("t-rows", fmt(t.rows), t.rows);
}

function renderTopics(view) {
  const topics = view.topics || [];
  const worst = Math.max(1, ...topics.map(t => t.backlog));
  fill(document.querySelector("#topics tbody"), topics.map(t => el("tr",
    {"data-topic": t.name, class: (t.dead_letter ? "dead" : "") + (t.exists ? "" : " missing")},
    el("td", {}, t.name),
    el("td", {class: "num"}, t.exists ? t.partitions : "not created"),
    el("td", {class: "num", "data-field": "records", ...num(t.records)}, fmt(t.records)),
    el("td", {class: "num", "data-field": "rate", ...num(t.rate)}, fmtRate(t.rate)),
    el("td", {class: "num" + (t.backlog > 0 ? " hot" : ""), "data-field": "backlog", ...num(t.backlog)},
       el("span", {class: "bar", style: `width:${Math.round(60 * t.backlog / worst)}px`}), fmt(t.backlog)),
    el("td", {}, t.groups.map(g => el("span", {class: "group", title: g.group, "data-group": g.group, ...num(g.lag)},
                                      groupLabel(g.group, t.name) + ": " + fmt(g.lag)))))));
  const live = topics.filter(t => t.exists && !t.dead_letter).map(t => t.name);
  lineChart(document.getElementById("chart-rate"), p => p.topic_rate, live);
  lineChart(document.getElementById("chart-backlog"), p => p.topic_backlog, live);
}

function renderSteps(view) {
  const count = (s, field, hot) => el("td", {class: "num" + (hot && s[field] ? " " + hot : ""),
    "data-field": field, ...num(s[field]),
    title: s[field] === null ? "its function does not report record counters" : null},
    fmt(s[field]));
  const rows = (view.steps || []).map((s, i) => {
    const key = `${s.workflow}/${s.name}`;
    const history = series.map(p => (p.step_rate || {})[key] || 0).slice(-60);
    return el("tr", {"data-step": key},
      el("td", {}, s.workflow ? el("span", {class: "muted"}, s.workflow + " / ") : "", s.name),
      el("td", {}, s.function || el("span", {class: "muted"}, s.kind)),
      count(s, "in"), count(s, "out"), count(s, "filtered"), count(s, "dead_lettered", "bad"),
      count(s, "emitted"),
      el("td", {class: "num", "data-field": "rate_in", ...num(s.rate_in)}, fmtRate(s.rate_in)),
      el("td", {}, sparkline(history, color(i))),
      count(s, "backlog", "hot"), count(s, "errors", "bad"),
      // The reason of the step's last 4xx/5xx, as its function answered it (GET /_/errors).
      el("td", {class: "reason" + (s.last_error ? " bad" : ""), "data-field": "last_error",
                title: s.last_error ? new Date(s.last_error.at * 1000).toISOString() : null},
         s.last_error ? `${s.last_error.status}: ${s.last_error.reason}` : ""));
  });
  fill(document.querySelector("#steps tbody"), rows);
}

function renderReplicas(view) {
  const nodes = view.nodes || [];
  const fns = (view.functions || []);
  const most = Math.max(1, ...fns.flatMap(f => Object.values(f.nodes)));
  document.querySelector("#replicas thead").replaceChildren(el("tr", {},
    el("th", {}, "function"), nodes.map(n => el("th", {class: "num"}, n)), el("th", {class: "num"}, "total")));
  fill(document.querySelector("#replicas tbody"), fns.map(f => el("tr", {"data-function": f.name},
    el("td", {}, f.name),
    nodes.map(n => {
      const c = f.nodes[n] || 0;
      const shade = c ? `background: rgba(37, 99, 235, ${0.15 + 0.6 * c / most}); color: ${c / most > 0.6 ? "#fff" : "#1b2430"}` : "color: #b6c0cc";
      return el("td", {class: "cell", "data-node": n, ...num(c)}, el("span", {style: shade}, c));
    }),
    el("td", {class: "num", "data-field": "replicas", ...num(f.replicas)},
       f.available === f.replicas ? fmt(f.replicas) : `${f.available}/${f.replicas}`))));
  const scaled = fns.filter(f => new Set(series.map(p => (p.replicas || {})[f.name])).size > 1).map(f => f.name);
  const chart = document.getElementById("chart-replicas");
  chart.parentElement.hidden = scaled.length === 0;  // nothing scaled: no empty chart
  if (scaled.length) lineChart(chart, p => p.replicas, scaled, {integer: true});
}

function feedItem(key, cls, ...children) {
  const item = el("li", {class: cls + (seenFeed.has(key) ? "" : " new")}, ...children);
  seenFeed.add(key);
  return item;
}

function renderEvents(view) {
  const events = view.events || [];
  const list = document.getElementById("events");
  if (!events.length) return list.replaceChildren(el("li", {class: "empty"}, "no scaling since the page opened"));
  list.replaceChildren(...events.map(e => feedItem(`e${e.at}${e.function}`, e.after > e.before ? "up" : "down",
    el("span", {class: "when"}, clock(e.at)),
    el("b", {"data-event-function": e.function}, e.function), ` ${e.before} → ${e.after}`,
    el("span", {class: "why"}, (e.by || "not by the autoscaler (manual or platform)") + (e.reason ? ": " + e.reason : "")))));
}

function renderDecisions(view) {
  const decisions = view.decisions || [];
  const list = document.getElementById("decisions");
  if (!decisions.length) return list.replaceChildren(el("li", {class: "empty"}, "no autoscaler tick yet"));
  list.replaceChildren(...decisions.map(d => feedItem(`d${d.workflow}${d.at}`, d.status === "applied" ? "up" : "",
    el("span", {class: "when"}, clock(d.at)), el("span", {class: "badge " + d.status}, d.status), " ",
    el("b", {}, d.workflow), ": ", d.reason,
    d.reasons.length ? el("details", {}, el("summary", {}, `${d.reasons.length} reasons`),
                          el("ul", {}, d.reasons.map(r => el("li", {}, r)))) : null)));
}

function renderPlan(view) {
  const box = document.getElementById("plan");
  const links = view.plan || [];
  if (!links.length) {
    return box.replaceChildren(el("p", {class: "muted"},
      "No matching yet: the autoscaler plans routes between the services of adjacent steps once it has ticked with data flowing."));
  }
  box.replaceChildren(...links.map(link => {
    const title = el("h3", {}, `${link.upstream} → ${link.downstream} `,
      el("span", {}, `${link.workflow}: ${fmtRate(link.total_flow)} records/s planned, ` +
                     `cost ${link.cost_per_record} per record (${link.algorithm})`));
    if (!link.flows.length) {
      return el("div", {class: "link", "data-link": `${link.upstream}->${link.downstream}`}, title,
                el("p", {class: "muted"}, "nothing to route"));
    }
    const ups = [...new Map(link.flows.map(f => [f.from, f.from_node])).entries()];
    const downs = [...new Map(link.flows.map(f => [f.to, f.to_node])).entries()];
    const rows = Math.max(ups.length, downs.length, 1);
    const width = Math.max(box.clientWidth || 900, 400), rowH = 44, height = rows * rowH + 10;
    const boxW = 200, left = 10, right = width - boxW - 10;
    const yOf = (i, n) => 5 + (rows * rowH - n * rowH) / 2 + i * rowH + rowH / 2;
    const pic = svg("svg", {viewBox: `0 0 ${width} ${height}`, height});
    const top = Math.max(...link.flows.map(f => f.rate), 1e-9);
    const upY = new Map(ups.map(([s], i) => [s, yOf(i, ups.length)]));
    const downY = new Map(downs.map(([s], i) => [s, yOf(i, downs.length)]));
    link.flows.forEach((f, i) => {
      const y1 = upY.get(f.from), y2 = downY.get(f.to), x1 = left + boxW, x2 = right;
      const mid = (x1 + x2) / 2;
      pic.append(svg("path", {class: "flow" + (f.cost > 0 ? " far" : ""),
                              d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
                              "stroke-width": (1.5 + 10 * f.rate / top).toFixed(1)}));
      // Each label sits at its own point along its curve, so labels of curves that meet do
      // not overlap.
      const t = link.flows.length > 1 ? 0.2 + 0.6 * i / (link.flows.length - 1) : 0.5;
      const bx = (1 - t) ** 3 * x1 + 3 * (1 - t) ** 2 * t * mid + 3 * (1 - t) * t * t * mid + t ** 3 * x2;
      const by = ((1 - t) ** 3 + 3 * (1 - t) ** 2 * t) * y1 + (3 * (1 - t) * t * t + t ** 3) * y2;
      pic.append(svg("text", {class: "flowlabel", x: bx, y: by - 6, "text-anchor": "middle"},
                     `${fmtRate(f.rate)}/s · cost ${f.cost}`));
    });
    const service = (name, node, x, y) => {
      const g = svg("g", {class: "svc"});
      g.append(svg("rect", {x, y: y - 17, width: boxW, height: 34}));
      g.append(svg("text", {x: x + 8, y: y - 2}, name));
      g.append(svg("text", {class: "node", x: x + 8, y: y + 12}, "on " + node));
      return g;
    };
    ups.forEach(([s, n]) => pic.append(service(s, n, left, upY.get(s))));
    downs.forEach(([s, n]) => pic.append(service(s, n, right, downY.get(s))));
    return el("div", {class: "link", "data-link": `${link.upstream}->${link.downstream}`}, title, pic);
  }));
}

function renderFunctions(view) {
  fill(document.querySelector("#functions tbody"), (view.functions || []).map(f => el("tr", {"data-function": f.name},
    el("td", {}, f.name),
    el("td", {class: "num", ...num(f.replicas)}, fmt(f.replicas)),
    el("td", {class: "num", "data-field": "invocations", ...num(f.invocations)}, fmt(f.invocations)),
    el("td", {class: "num", ...num(f.rate)}, fmtRate(f.rate)),
    el("td", {class: "num" + (f.rejected ? " hot" : ""), "data-field": "rejected", ...num(f.rejected)}, fmt(f.rejected)),
    el("td", {class: "num" + (f.failed ? " bad" : ""), "data-field": "failed", ...num(f.failed)}, fmt(f.failed)),
    el("td", {class: "num"}, f.mean_ms === null ? "–" : f.mean_ms.toFixed(1)))));
}

function renderWarehouse(view) {
  const rows = view.warehouse || [];
  fill(document.querySelector("#warehouse tbody"), rows.length ? rows.map(w => el("tr", {"data-table": w.table},
    el("td", {}, w.table),
    el("td", {class: "num", "data-field": "rows", ...num(w.rows)}, w.rows === null ? "no table yet" : fmt(w.rows))))
    : [el("tr", {}, el("td", {class: "muted", colspan: 2}, "no warehouse configured"))]);
}

function render(view) {
  if (!view || !view.at) return;
  renderHeader(view); renderTiles(view); renderTopics(view); renderSteps(view);
  renderReplicas(view); renderEvents(view); renderDecisions(view); renderPlan(view);
  renderFunctions(view); renderWarehouse(view);
  document.body.setAttribute("data-rendered-at", String(view.at));
}

async function start() {
  try {
    const snap = await (await fetch("/api/snapshot", {cache: "no-store"})).json();
    series = snap.series || [];
    maxPoints = snap.history_points || maxPoints;  // as many as the server keeps
    render(snap);
  } catch (err) {
    document.getElementById("updated").textContent = "snapshot failed: " + err;
  }
  const stream = new EventSource("/api/events");
  stream.onmessage = msg => {
    const view = JSON.parse(msg.data);
    if (view.point && (!series.length || series[series.length - 1].t < view.point.t)) {
      series.push(view.point);
      if (series.length > maxPoints) series = series.slice(-maxPoints);
    }
    render(view);
  };
  stream.onerror = () => { document.getElementById("updated").textContent = "reconnecting…"; };
}

start();

// The explorer's histogram, drawn as plain SVG by this module: no charting library to load, so
// the explorer's first message to the browser stays a few kilobytes.
//
// The model holds `bars` (what display/_explore.py's histogram_bars builds: every item's count
// and the matching count per bar, numeric `edges` or category `labels`), `brush` ([lo, hi] on
// a numeric axis, [] for none) and `picked` (category labels, [] for all). A person:
//   * drags over numeric bars: `brush` becomes the dragged range;
//   * clicks a numeric bar: `brush` becomes that bar's bin (a second click on it clears it);
//   * clicks a category bar: `picked` becomes that category (shift / ctrl / cmd adds or removes
//     one; a click on the only picked bar, or beside the bars, clears the pick).
// Colours are the notebook's theme variables (JupyterLab, then VS Code, then a light default),
// set as CSS properties so var() resolves: the chart follows a dark theme with no code of ours.

const NS = "http://www.w3.org/2000/svg";
const INK = "var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #6e7781))";
const ALL = "var(--jp-border-color1, var(--vscode-editorRuler-foreground, #999999))";
const MATCH = "var(--jp-brand-color1, var(--vscode-textLink-foreground, #0969da))";
const WIDTH = 360;
const HEIGHT = 140;
const M = { top: 22, right: 14, bottom: 46, left: 48 };
const DRAG_PX = 4; // a pointer that moves less than this between press and release clicks

function node(tag, attrs = {}, style = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  Object.assign(el.style, style);
  return el;
}

function text(x, y, content, attrs = {}, style = {}) {
  const el = node("text", { x, y, ...attrs }, { fill: INK, fontSize: "11px", ...style });
  el.textContent = content;
  return el;
}

// 3 significant digits, as the kernel's own numbers read.
function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

// About `n` round tick values over [lo, hi] (steps of 1, 2 or 5 times a power of ten).
function ticks(lo, hi, n) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

// Where each bar sits, and back from a pixel to data (numeric) or to a bar.
function geometry(bars) {
  const n = bars.counts?.length ?? 0;
  const ymax = Math.max(1, ...(bars.counts ?? []));
  const y = (c) => M.top + HEIGHT - (c / ymax) * HEIGHT;
  if (bars.numeric) {
    const edges = bars.edges;
    const lo = edges[0];
    const hi = edges[edges.length - 1];
    const x = (v) => M.left + ((v - lo) / (hi - lo)) * WIDTH;
    const value = (px) => Math.min(hi, Math.max(lo, lo + ((px - M.left) / WIDTH) * (hi - lo)));
    const span = (i) => [x(edges[i]), x(edges[i + 1])];
    return { n, ymax, y, x, value, span, lo, hi };
  }
  const band = WIDTH / Math.max(n, 1);
  const span = (i) => [M.left + i * band, M.left + (i + 1) * band];
  return { n, ymax, y, span };
}

function barAt(geo, px) {
  for (let i = 0; i < geo.n; i++) {
    const [a, b] = geo.span(i);
    if (px >= a && px < b) return i;
  }
  return -1;
}

function selected(bars, i, brush, picked) {
  if (bars.numeric) {
    if (brush.length !== 2) return null;
    return bars.edges[i + 1] >= brush[0] && bars.edges[i] <= brush[1];
  }
  if (!picked.length) return null;
  return picked.includes(bars.labels[i]);
}

function drawAxes(svg, bars, geo) {
  const base = M.top + HEIGHT;
  svg.append(node("line", { x1: M.left, x2: M.left + WIDTH, y1: base, y2: base }, { stroke: INK }));
  svg.append(node("line", { x1: M.left, x2: M.left, y1: M.top, y2: base }, { stroke: INK }));
  for (const t of ticks(0, geo.ymax, 3).filter(Number.isInteger)) {
    svg.append(text(M.left - 4, geo.y(t) + 4, fmt(t), { "text-anchor": "end" }));
    svg.append(node("line", { x1: M.left, x2: M.left + WIDTH, y1: geo.y(t), y2: geo.y(t) },
      { stroke: INK, strokeOpacity: "0.2" }));
  }
  const mid = M.top + HEIGHT / 2;
  svg.append(text(12, mid, bars.y_title ?? "items",
    { "text-anchor": "middle", transform: `rotate(-90 12 ${mid})` }));
  svg.append(text(M.left, 13, bars.title ?? "", {}, { fontWeight: "bold" }));
  if (bars.numeric) {
    for (const t of ticks(geo.lo, geo.hi, 5)) {
      svg.append(text(geo.x(t), base + 14, fmt(t), { "text-anchor": "middle" }));
    }
    return;
  }
  const every = Math.ceil(geo.n / 30);
  bars.labels.forEach((label, i) => {
    if (i % every) return;
    const [a, b] = geo.span(i);
    const cx = (a + b) / 2;
    const short = label.length > 12 ? `${label.slice(0, 11)}\u2026` : label;
    svg.append(text(cx, base + 12, short,
      { "text-anchor": "end", transform: `rotate(-35 ${cx} ${base + 12})` }));
  });
}

function drawBars(svg, bars, geo, brush, picked) {
  const base = M.top + HEIGHT;
  for (let i = 0; i < geo.n; i++) {
    const [a, b] = geo.span(i);
    const w = Math.max(1, b - a - 1);
    const what = bars.numeric
      ? `${fmt(bars.edges[i])} to ${fmt(bars.edges[i + 1])}`
      : bars.labels[i];
    const g = node("g", { class: "rw-hist-bar", "data-bar": i });
    const tip = node("title");
    tip.textContent = `${what}: ${bars.matching[i]} of ${bars.counts[i]} items match`;
    const all = node("rect", { x: a + 0.5, y: geo.y(bars.counts[i]), width: w,
      height: base - geo.y(bars.counts[i]), class: "rw-hist-all" }, { fill: ALL, fillOpacity: "0.35" });
    const on = selected(bars, i, brush, picked);
    const match = node("rect", { x: a + 0.5, y: geo.y(bars.matching[i]), width: w,
      height: base - geo.y(bars.matching[i]), class: "rw-hist-match" },
      { fill: MATCH, fillOpacity: on === false ? "0.45" : "1" });
    g.append(tip, all, match);
    svg.append(g);
  }
}

function drawBrush(svg, geo, lo, hi) {
  const a = Math.min(lo, hi);
  const b = Math.max(lo, hi);
  svg.append(node("rect", { x: a, y: M.top, width: Math.max(1, b - a), height: HEIGHT,
    class: "rw-hist-brush", "pointer-events": "none" },
    { fill: MATCH, fillOpacity: "0.12", stroke: MATCH, strokeOpacity: "0.6" }));
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "rw-hist";
  const svg = node("svg", { width: M.left + WIDTH + M.right, height: M.top + HEIGHT + M.bottom,
    role: "img" }, { cursor: "crosshair", userSelect: "none", touchAction: "none" });
  root.append(svg);
  el.append(root);
  let geo = null;
  let press = null; // {x, dragging} while a pointer is down

  function draw(dragTo) {
    const bars = model.get("bars") || {};
    const brush = model.get("brush") || [];
    const picked = model.get("picked") || [];
    svg.replaceChildren();
    geo = geometry(bars);
    svg.setAttribute("aria-label", `histogram of ${bars.column ?? ""}`);
    drawAxes(svg, bars, geo);
    drawBars(svg, bars, geo, brush, picked);
    if (press?.dragging && bars.numeric) drawBrush(svg, geo, press.x, dragTo);
    else if (bars.numeric && brush.length === 2) drawBrush(svg, geo, geo.x(brush[0]), geo.x(brush[1]));
    root.setAttribute("data-rw-ready", "true");
    root.setAttribute("data-rw-bars", String(geo.n));
  }

  function localX(event) {
    const box = svg.getBoundingClientRect();
    return event.clientX - box.left;
  }

  function send(key, value) {
    model.set(key, value);
    model.save_changes();
  }

  function click(px, event) {
    const bars = model.get("bars") || {};
    const i = barAt(geo, px);
    if (bars.numeric) {
      const brush = model.get("brush") || [];
      const bin = i < 0 ? [] : [bars.edges[i], bars.edges[i + 1]];
      const same = bin.length && brush.length === 2 && brush[0] === bin[0] && brush[1] === bin[1];
      return send("brush", same ? [] : bin);
    }
    const picked = model.get("picked") || [];
    if (i < 0) return send("picked", []);
    const label = bars.labels[i];
    if (event.shiftKey || event.ctrlKey || event.metaKey) {
      return send("picked", picked.includes(label) ? picked.filter((p) => p !== label) : [...picked, label]);
    }
    return send("picked", picked.length === 1 && picked[0] === label ? [] : [label]);
  }

  const down = (event) => {
    if (event.button !== 0) return;
    press = { x: localX(event), dragging: false };
    svg.setPointerCapture?.(event.pointerId);
  };
  const move = (event) => {
    if (!press) return;
    const px = localX(event);
    if (!press.dragging && Math.abs(px - press.x) >= DRAG_PX && model.get("bars")?.numeric) {
      press.dragging = true;
    }
    if (press.dragging) draw(px);
  };
  const up = (event) => {
    if (!press) return;
    const px = localX(event);
    const was = press;
    press = null;
    if (!was.dragging) return click(px, event);
    const a = geo.value(Math.min(was.x, px));
    const b = geo.value(Math.max(was.x, px));
    if (b > a) send("brush", [a, b]);
    else draw();
  };
  const cancel = () => { press = null; draw(); };
  svg.addEventListener("pointerdown", down);
  svg.addEventListener("pointermove", move);
  svg.addEventListener("pointerup", up);
  svg.addEventListener("pointercancel", cancel);
  const redraw = () => draw();
  for (const key of ["bars", "brush", "picked"]) model.on(`change:${key}`, redraw);
  draw();
  return () => {
    for (const key of ["bars", "brush", "picked"]) model.off(`change:${key}`, redraw);
  };
}

export default { render };

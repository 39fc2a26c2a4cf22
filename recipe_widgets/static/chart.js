// An Altair chart that follows the notebook's theme, drawn offline.
//
// The drawing itself is Altair's JupyterChart front end (selections, params and all), bundled
// with Vega by vl-convert in the kernel (no CDN) and sent once per kernel in a shared model
// ("IPY_MODEL_<id>" in the "_altair" trait), imported here from a Blob URL. What we add: the
// kernel cannot know the page's theme, so under a dark theme this module lays a dark Vega config
// over the spec (light text and rules, no background, taken from JupyterLab's --jp-* or VS
// Code's --vscode-* variables where the page has them), and draws the chart again when the
// theme changes.

function loadAltair(model) {
  if (!globalThis.__rwAltairChart) {
    globalThis.__rwAltairChart = (async () => {
      const ref = String(model.get("_altair") || "");
      const shared = await model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, ""));
      const url = URL.createObjectURL(new Blob([shared.get("bundle")], { type: "text/javascript" }));
      return (await import(url)).default;
    })();
    // a failed load (a closed model) may be retried by the next chart
    globalThis.__rwAltairChart.catch(() => { globalThis.__rwAltairChart = null; });
  }
  return globalThis.__rwAltairChart;
}

// Any CSS colour -> [r, g, b, a] (0-255, alpha 0-1), as the browser resolves it.
function rgba(colour) {
  const probe = document.createElement("span");
  probe.style.color = colour;
  probe.style.display = "none";
  document.body.append(probe);
  const parts = (getComputedStyle(probe).color.match(/[\d.]+/g) || []).map(Number);
  probe.remove();
  const [r = 0, g = 0, b = 0, a = 1] = parts;
  return [r, g, b, parts.length > 3 ? a : 1];
}

// Relative luminance (WCAG) of a CSS colour, 0 (black) to 1 (white).
function luminance(colour) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = rgba(colour);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

// The colour behind `el`: the first ancestor with an opaque-enough background.
function backgroundBehind(el) {
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && rgba(bg)[3] > 0.5) return bg;
  }
  return "rgb(255, 255, 255)";
}

// What the page shows: JupyterLab marks its body data-jp-theme-light; VS Code adds the class
// vscode-dark (or vscode-high-contrast); elsewhere the luminance of the theme's background
// variable, or of what is actually painted behind the chart, decides.
export function pageTheme(el) {
  const body = document.body;
  const css = getComputedStyle(body);
  const v = (...names) => names.map((n) => css.getPropertyValue(n).trim()).find(Boolean) || "";
  let dark;
  if (body.dataset.jpThemeLight === "false" || body.dataset.jpThemeLight === "true") {
    dark = body.dataset.jpThemeLight === "false";
  } else if (body.classList.contains("vscode-dark") || body.classList.contains("vscode-high-contrast")) {
    dark = !body.classList.contains("vscode-high-contrast-light");
  } else {
    dark = luminance(v("--jp-layout-color0", "--vscode-editor-background") || backgroundBehind(el)) < 0.2;
  }
  if (!dark) return { dark: false, key: "light" };
  const colours = {
    text: v("--jp-ui-font-color1", "--vscode-foreground") || "#e6edf3",
    muted: v("--jp-ui-font-color2", "--vscode-descriptionForeground") || "#9da7b3",
    rule: v("--jp-border-color1", "--vscode-editorRuler-foreground") || "#8b949e",
    grid: v("--jp-border-color2", "--vscode-panel-border") || "#3d444d",
  };
  return { dark: true, colours, key: "dark " + JSON.stringify(colours) };
}

// The Vega-Lite config a dark page needs: every guide and default mark colour that Vega's
// light defaults paint black or near-black. Marks with a colour of their own keep it.
export function darkConfig({ text, muted, rule, grid }) {
  const guide = {
    labelColor: muted, titleColor: text, domainColor: rule, tickColor: rule, gridColor: grid,
  };
  return {
    background: "transparent",
    axis: guide,
    legend: { labelColor: text, titleColor: text },
    header: { labelColor: text, titleColor: text },
    title: { color: text, subtitleColor: muted },
    view: { stroke: grid },
    style: { "guide-label": { fill: muted }, "guide-title": { fill: text } },
    text: { color: text },
    rule: { color: muted },
    tick: { color: muted },
  };
}

// `over` laid over `base`, object by object (arrays and values replaced).
function merged(base, over) {
  const out = { ...(base || {}) };
  for (const [key, value] of Object.entries(over)) {
    const plain = value && typeof value === "object" && !Array.isArray(value);
    out[key] = plain ? merged(out[key], value) : value;
  }
  return out;
}

export function themedSpec(spec, theme) {
  if (spec == null || !theme.dark) return spec;
  return { ...spec, config: merged(spec.config, darkConfig(theme.colours)) };
}

// The model Altair's render sees: the spec comes themed, and the handlers it registers are
// remembered, to redraw on a theme change (its own "change:spec" handler re-embeds and
// finalizes the old Vega view) and to be removed with the view.
function themedModel(model, current) {
  const handlers = [];
  const proxy = {
    get: (name) => (name === "spec" ? themedSpec(model.get("spec"), current()) : model.get(name)),
    set: (...args) => model.set(...args),
    save_changes: () => model.save_changes(),
    send: (...args) => model.send(...args),
    on: (event, fn) => {
      handlers.push([event, fn]);
      model.on(event, fn);
    },
    off: (event, fn) => model.off(event, fn),
    widget_manager: model.widget_manager,
  };
  const redraw = async () => {
    for (const [event, fn] of handlers) if (event === "change:spec") await fn();
  };
  const dispose = () => handlers.forEach(([event, fn]) => model.off(event, fn));
  return { proxy, redraw, dispose };
}

async function render({ model, el }) {
  let theme = pageTheme(el);
  const mark = () => {
    el.setAttribute("data-rw-chart-theme", theme.dark ? "dark" : "light");
    el.setAttribute("data-rw-ready", "true");
  };
  const themed = themedModel(model, () => theme);
  let observer = null;
  try {
    const altair = await loadAltair(model);
    await altair.render({ model: themed.proxy, el });
    mark();
    // JupyterLab swaps its theme by setting body attributes once the new CSS is in; VS Code
    // swaps body classes. Redraw only when what the chart would use has changed.
    let queued = null;
    const check = () => {
      queued = null;
      const next = pageTheme(el);
      if (next.key === theme.key) return;
      theme = next;
      el.removeAttribute("data-rw-ready");
      themed.redraw().then(mark, (err) => console.error("recipe_widgets chart:", err));
    };
    observer = new MutationObserver(() => {
      if (queued === null) queued = requestAnimationFrame(check);
    });
    observer.observe(document.body, { attributes: true, attributeFilter: ["class", "data-jp-theme-light", "data-jp-theme-name"] });
  } catch (err) {
    console.error("recipe_widgets chart: Vega did not load:", err);
    const note = document.createElement("div");
    note.className = "rw-chart-error";
    note.textContent = `The chart could not be drawn: ${err}`;
    el.replaceChildren(note);
  }
  return () => {
    if (observer) observer.disconnect();
    themed.dispose();
  };
}

export default { render };

// Live plot: an Altair (Vega-Lite) spec drawn with the Vega bundle the kernel ships (no CDN),
// fed by "append" messages applied as Vega changesets, so each update costs the new rows only.
//
// The chart is embedded with its first rows, never empty: Vega-Lite lays out an empty dataset
// with infinite extents (broken SVG attributes). Until rows arrive, a line of text says so.

// One import of the bundle per page, however many plots are shown. The code lives in one
// shared VegaBundle model per kernel; each plot holds a reference to it ("IPY_MODEL_<id>").
function loadVega(model) {
  if (!globalThis.__rwVegaBundle) {
    globalThis.__rwVegaBundle = (async () => {
      const ref = String(model.get("_vega") || "");
      const shared = await model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, ""));
      const url = URL.createObjectURL(new Blob([shared.get("bundle")], { type: "text/javascript" }));
      return import(url);
    })();
  }
  return globalThis.__rwVegaBundle;
}

// The controls: a log-scale toggle and a last-N box, synced to the model's log_y and last_n
// (the kernel rebuilds the spec, and the chart is re-embedded with every row it holds).
function controls(model) {
  const bar = document.createElement("div");
  bar.className = "rw-live-controls";
  bar.style.cssText = "display:flex;gap:1.5em;align-items:center;font-size:13px;margin-bottom:4px";
  const logLabel = document.createElement("label");
  const log = document.createElement("input");
  log.type = "checkbox";
  log.className = "rw-live-log";
  logLabel.append(log, " log scale");
  const lastLabel = document.createElement("label");
  const last = document.createElement("input");
  last.type = "number";
  last.min = "0";
  last.step = "1";
  last.className = "rw-live-last";
  // the page's colours, not the browser's white box, under a dark theme
  last.style.cssText = "width:7em;color:inherit;background:transparent;" +
    "border:1px solid var(--jp-border-color1, var(--vscode-input-border, #999))";
  lastLabel.append("last N steps (0: all) ", last);
  bar.append(logLabel, lastLabel);

  const show = () => {
    log.checked = Boolean(model.get("log_y"));
    last.value = String(model.get("last_n") ?? 0);
  };
  log.addEventListener("change", () => {
    model.set("log_y", log.checked);
    model.save_changes();
  });
  const applyLast = () => {
    const n = Math.floor(Number(last.value));
    model.set("last_n", Number.isFinite(n) && n > 0 ? n : null);
    model.save_changes();
    show(); // "abc", -3 or 2.5 in the box: show what the chart really uses
  };
  last.addEventListener("change", applyLast); // blur, or the spinner arrows
  // Enter applies too: a number input fires "change" on Enter in some browsers only.
  last.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      applyLast();
    }
  });
  show();
  return { bar, show };
}

// The notebook's theme: JupyterLab marks its body data-jp-theme-light="false" under a dark
// theme, VS Code adds the class "vscode-dark"; the chart then uses Vega's dark theme.
function darkTheme() {
  const body = document.body;
  return body?.dataset?.jpThemeLight === "false" || Boolean(body?.classList?.contains("vscode-dark"));
}

// {metric: [steps, values]} (what the kernel sends: flat lists are cheap to encode) -> the
// {step, metric, value} rows the spec reads.
function rowsOf(series) {
  const out = [];
  for (const [metric, pair] of Object.entries(series)) {
    const [steps, values] = Array.isArray(pair) ? pair : [[], []];
    const n = Math.min(steps.length, values.length);
    for (let i = 0; i < n; i++) out.push({ step: steps[i], metric, value: values[i] });
  }
  return out;
}

async function render({ model, el }) {
  const panel = controls(model);
  const holder = document.createElement("div");
  const findings = document.createElement("div");
  findings.className = "rw-live-findings";
  const showFindings = () => { findings.innerHTML = model.get("findings") || ""; }; // our own escaped HTML
  showFindings();
  el.append(panel.bar, holder, findings);
  let view = null;
  let vegaEmbed = null;
  // Messages are applied in the order they were sent, and only once Vega has loaded; listening
  // starts before the load, so appends sent while the bundle is imported are queued, not lost.
  let chain = loadVega(model).then((mod) => { vegaEmbed = mod.vegaEmbed; });
  let rows = 0;

  function waiting() {
    const note = document.createElement("div");
    note.className = "rw-live-waiting";
    note.textContent = "Waiting for the first logged values (w.log(loss=...))";
    holder.replaceChildren(note);
  }

  async function embed(first) {
    if (view) view.finalize();
    view = null;
    if (!first.length) return waiting();
    const spec = structuredClone(model.get("spec"));
    spec.data = { ...spec.data, values: first };
    holder.replaceChildren();
    const options = { actions: false, renderer: "svg" };
    if (darkTheme()) {
      options.theme = "dark"; // Vega's light-on-dark guides...
      options.config = { background: "transparent" }; // ...on the page's own dark, not #333
    }
    const result = await vegaEmbed(holder, spec, options);
    view = result.view;
    await view.runAsync();
    // Drawn: only now may a test (or a person) trust what the element shows.
    el.setAttribute("data-rw-ready", "true");
    el.setAttribute("data-rw-scale", spec.layer?.[0]?.encoding?.y?.scale?.type ?? "linear");
    el.setAttribute("data-rw-theme", options.theme ?? "light");
  }

  async function append(batch) {
    if (!view) return embed(batch);
    const cs = view.changeset().insert(batch); // the View builds changesets: no vega namespace needed
    await view.change(model.get("dataset"), cs).runAsync();
  }

  function apply(msg) {
    if (!msg || typeof msg.series !== "object" || msg.series === null) return chain;
    const batch = rowsOf(msg.series);
    if (msg.type === "replay") {
      chain = chain.then(() => embed(batch)).then(() => { rows = batch.length; });
    } else if (msg.type === "append") {
      chain = chain.then(() => append(batch)).then(() => { rows += batch.length; });
    } else {
      return chain;
    }
    chain = chain
      .then(() => el.setAttribute("data-rw-rows", String(rows)))
      .catch((err) => console.error("recipe_widgets live plot:", err));
    return chain;
  }

  const onMsg = (msg) => { apply(msg); };
  const onSpec = () => {
    panel.show();
    model.send({ type: "replay" }); // re-embed the new spec with all rows
  };
  model.on("msg:custom", onMsg);
  model.on("change:spec", onSpec);
  model.on("change:findings", showFindings);
  // A theme switched while the plot is shown: draw it again with every row, in the new theme.
  let dark = darkTheme();
  const themeWatch = new MutationObserver(() => {
    if (darkTheme() === dark) return;
    dark = darkTheme();
    model.send({ type: "replay" });
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["class", "data-jp-theme-light"] });

  waiting();
  model.send({ type: "replay" }); // a new view (reload, second display) asks for the history once
  await chain.catch((err) => console.error("recipe_widgets live plot: Vega did not load:", err));

  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:spec", onSpec);
    model.off("change:findings", showFindings);
    themeWatch.disconnect();
    if (view) view.finalize();
  };
}

export default { render };

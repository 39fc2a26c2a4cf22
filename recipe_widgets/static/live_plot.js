// Live plot: an Altair (Vega-Lite) spec drawn with the Vega bundle the kernel ships (no CDN),
// fed by "append" messages applied as Vega changesets, so each update costs the new rows only.

// One import of the bundle per page, however many plots are shown.
function loadVega(bundle) {
  if (!globalThis.__rwVegaBundle) {
    const url = URL.createObjectURL(new Blob([bundle], { type: "text/javascript" }));
    globalThis.__rwVegaBundle = import(url);
  }
  return globalThis.__rwVegaBundle;
}

async function render({ model, el }) {
  const { vegaEmbed } = await loadVega(model.get("_vega_bundle"));
  const holder = document.createElement("div");
  el.appendChild(holder);
  let view = null;
  let chain = Promise.resolve(); // changesets applied in the order they were sent
  let rows = 0;

  async function embed() {
    if (view) view.finalize();
    holder.replaceChildren();
    const result = await vegaEmbed(holder, model.get("spec"), { actions: false, renderer: "svg" });
    view = result.view;
    await view.runAsync();
  }

  function apply(msg) {
    if (!view || !msg || !Array.isArray(msg.rows)) return chain;
    const name = model.get("dataset");
    let cs = view.changeset(); // the View builds changesets: no need for the vega namespace
    if (msg.type === "replay") cs = cs.remove(() => true);
    else if (msg.type !== "append") return chain;
    cs = cs.insert(msg.rows);
    rows = msg.type === "replay" ? msg.rows.length : rows + msg.rows.length;
    chain = chain
      .then(() => view.change(name, cs).runAsync())
      .then(() => el.setAttribute("data-rw-rows", String(rows)));
    return chain;
  }

  const onMsg = (msg) => { apply(msg); };
  const onSpec = () => {
    chain = chain.then(embed).then(() => model.send({ type: "replay" }));
  };
  model.on("msg:custom", onMsg);
  model.on("change:spec", onSpec);

  await embed();
  // Drawn: only now may a test (or a person) trust what the element shows.
  el.setAttribute("data-rw-ready", "true");
  model.send({ type: "replay" }); // a new view (reload, second display) asks for the history once

  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:spec", onSpec);
    if (view) view.finalize();
  };
}

export default { render };

"""rw.charts: charts of any watch or saved run, shown offline with a deterministic static form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import recipe_widgets as rw
from recipe_widgets import charts


def _run(track_labels: bool = True, steps: int = 25) -> rw.Watch:
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    with rw.watch(model, opt, display=False, name="tiny") as w:
        w.track((x, y) if track_labels else x)
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
        w.log(val_loss=0.5)
    return w


def test_charts_read_the_run_they_are_given() -> None:
    w = _run()
    spec = charts.training(w).to_dict()
    assert {r["metric"] for r in spec["data"]["values"]} == {"loss", "val_loss"}
    lr = charts.learning_rate(w).to_dict()
    assert lr["data"]["values"] if "values" in lr.get("data", {}) else lr["datasets"]
    both = charts.compare(w, w, metric="loss").to_dict()
    assert "run" in str(both["encoding"]["color"])


def test_prediction_dynamics_and_overfit_view_use_the_tracked_labels() -> None:
    w = _run()
    preds = charts.predictions(w).to_dict()
    rows = next(iter(preds["datasets"].values()))
    last = max(r["step"] for r in rows)
    # probability given to the label rises as the tiny model memorizes its 6 examples
    first_p = [r["prediction"] for r in rows if r["step"] == 0]
    last_p = [r["prediction"] for r in rows if r["step"] == last]
    assert sum(last_p) > sum(first_p)
    assert charts.overfit(w).to_dict()["title"].startswith("labels vs predictions at step")


def test_clear_errors_when_nothing_was_tracked() -> None:
    w = _run(track_labels=False)
    with pytest.raises(ValueError, match="needs labels"):
        charts.overfit(w)
    with rw.watch(nn.Linear(2, 1), display=False) as bare:
        bare.log(loss=1.0, step=0)
    with pytest.raises(ValueError, match=r"w\.track"):
        charts.predictions(bare)


def test_show_has_a_deterministic_static_form() -> None:
    chart = charts.training(_run())
    first, second = (
        charts.show(chart)._repr_mimebundle_()[0],
        charts.show(chart)._repr_mimebundle_()[0],
    )
    assert first["text/plain"] == "Chart(training)" or first["text/plain"].startswith("Chart(")
    assert (
        first["text/html"].startswith('<img alt="Chart(')
        and first["text/html"] == second["text/html"]
    )
    assert "application/vnd.jupyter.widget-view+json" in first


def test_panel_controls_drive_the_plot_and_tracked_charts_appear_after_the_loop(
    monkeypatch,
) -> None:
    import recipe_widgets.widgets._watch_plot as lp
    from recipe_widgets.widgets._watch import LiveWatch

    monkeypatch.setattr(lp, "vega_bundle", lambda: "/* vega stub */")
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    shown = []
    w = LiveWatch(model, opt, display=shown.append)
    with w:
        w.track((x, y))
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
    w.panel.log_y = True  # as the front end's checkbox sets it
    assert w.plot.spec["layer"][0]["encoding"]["y"]["scale"] == {"type": "log", "nice": False}
    w.panel.last_n = 3
    assert w.plot.last_n == 3
    w.panel.last_n = 0
    assert w.plot.last_n is None
    assert shown[0] is w.plot
    # stacked, not side by side: two 520 px charts in a row overflowed the output (scrollbar,
    # legend cut off); the overfit view keeps its legend on top
    tracked = shown[1].chart.to_dict()
    assert len(tracked["vconcat"]) == 2 and "hconcat" not in tracked
    assert tracked["vconcat"][1]["encoding"]["color"]["legend"] == {"orient": "top"}
    shown = shown[1]._repr_mimebundle_()[0]
    assert shown["text/plain"].startswith("Chart(prediction dynamics")


def test_learning_rate_preview_from_the_check_dry_run() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(40, 4), torch.randint(0, 3, (40,))
    report = rw.check(
        nn.Linear(4, 3),
        (x, y),
        nn.CrossEntropyLoss(),
        checks=["lr_schedule"],
        quiet=True,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5),
        steps=400,
    )
    assert report["lr_schedule"].status == "fail"
    spec = charts.learning_rate(report).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert rows[0] == {"step": 0, "lr": pytest.approx(3e-4)}
    assert [r["step"] for r in rows[:3]] == [0, 2, 4]  # 400 steps thinned to 200, positions kept
    assert all(
        r["lr"] == pytest.approx(3e-4 * 0.5 ** (r["step"] // 5)) for r in rows
    )  # torch's StepLR
    assert spec["title"] == "learning rate: dry run of 400 steps"
    skipped = rw.check(
        nn.Linear(4, 3), (x, y), nn.CrossEntropyLoss(), checks=["lr_schedule"], quiet=True
    )
    with pytest.raises(ValueError, match="holds no dry-run learning rates"):
        charts.learning_rate(skipped)


def test_every_chart_displayed_bare_draws_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # `rw.charts.compare(w1, w2)` at the end of a cell: Altair's default renderer would emit a
    # script that loads Vega from cdn.jsdelivr.net ("Error loading script" offline).
    import altair as alt

    w = _run()
    made = [
        charts.compare(w, w),
        charts.training(w),
        charts.predictions(w),
        charts.overfit(w),
        charts.learning_rate(w),
    ]
    made.append(made[0].properties(width=300))  # Altair's copies keep the offline display
    plain = alt.Chart(made[0].data).mark_line().encode(x="step:Q", y="value:Q")
    # combined with | & +: a kit chart on the left, or on the right of a plain chart (not the
    # training chart: its autosize is top-level only, Altair refuses to combine it)
    lr, dyn = made[4], made[2]
    made += [lr | dyn, lr & plain, plain | lr, lr + plain, plain + lr]
    made.append((lr | dyn) | made[3])  # Altair's own concat-of-concat, still offline
    assert len(made[-1].hconcat) == 3
    default = alt.Chart(made[0].data).mark_line()._repr_mimebundle_()
    assert "cdn.jsdelivr" in str(default) or "vega@" in str(default)  # the guarded failure
    for chart in made:
        assert isinstance(chart, alt.TopLevelMixin)
        outside = chart._repr_mimebundle_()  # no kernel: an SVG drawn here, no script
        assert outside["image/svg+xml"].startswith("<svg") and "jsdelivr" not in str(outside)
    monkeypatch.setattr(charts, "_in_kernel", lambda: True)  # as inside a Jupyter kernel
    data, _meta = made[0]._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data  # the offline widget
    assert "jsdelivr" not in str(data) and data["text/plain"] == "Chart(loss)"
    for chart in made[6:]:
        data, _meta = chart._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in data and "jsdelivr" not in str(data)


def test_charts_share_one_themed_front_end() -> None:
    # Every chart (charts.show, the explorer's histogram) runs static/chart.js, which themes
    # Altair's front end; Altair's Vega bundle goes to the browser once per kernel, not per chart.
    import altair as alt

    from recipe_widgets.widgets._chart import themed_chart

    w = _run()
    shown, histogram = charts.show(charts.training(w)), themed_chart(alt.Chart().mark_bar())
    assert shown._altair is histogram._altair and "setSignalValue" in shown._altair.bundle
    assert "jsdelivr" not in shown._altair.bundle and "esm.sh" not in shown._altair.bundle
    assert shown._esm == histogram._esm and "pageTheme" in str(shown._esm)
    assert "https://" not in str(shown._esm)  # our module imports nothing from a network


def test_save_writes_charts_and_reports_in_one_call(tmp_path) -> None:
    w = _run()
    png = charts.save(charts.compare(w, w), tmp_path / "compare.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = charts.save(w, tmp_path / "run.svg")  # a run: its training chart
    assert svg.read_text().startswith("<svg") and "training" in svg.read_text()
    html = charts.save(charts.show(charts.training(w)), tmp_path / "run.html").read_text()
    assert "cdn.jsdelivr" not in html and "vegaEmbed" in html  # Vega inlined: opens offline
    report = rw.Report((rw.Finding("outliers", "warn", "item 3 <b>", "look"),), title="Data audit")
    page = charts.save(report, tmp_path / "audit.html").read_text()
    assert "Data audit: 1 warning" in page and "item 3 &lt;b&gt;" in page
    assert charts.save(report, tmp_path / "audit.txt").read_text().startswith("Data audit: 1 warn")
    with pytest.raises(ValueError, match=r"\.html \(with its figures\) or \.txt"):
        charts.save(report, tmp_path / "audit.png")
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.html"):
        charts.save(charts.training(w), tmp_path / "x.pdf")
    with pytest.raises(TypeError, match="cannot save a int"):
        charts.save(3, tmp_path / "x.png")

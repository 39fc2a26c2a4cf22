"""LivePlot and the live watch against a recording comm in place of the browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from recipe_widgets.widgets._watch import LiveWatch, watch
from recipe_widgets.widgets._watch_plot import LivePlot

JS = Path(__file__).resolve().parents[2] / "recipe_widgets" / "static" / "live_plot.js"


class RecordingComm:
    """Stands in for the kernel-side comm: keeps every message the widget sends."""

    kernel = object()
    comm_id = "recording-comm"

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, data: dict, buffers=None) -> None:
        self.sent.append(data)

    def close(self, *args, **kwargs) -> None:
        pass

    def on_msg(self, *args) -> None:
        pass

    def customs(self) -> list[dict]:
        return [m["content"] for m in self.sent if m.get("method") == "custom"]


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def plot(**kwargs) -> tuple[LivePlot, RecordingComm, Clock]:
    clock = Clock()
    w = LivePlot(bundle="/* vega stub */", clock=clock, **kwargs)
    comm = RecordingComm()
    w.comm = comm
    return w, comm, clock


def rows_of(msg: dict) -> list[dict]:
    """The rows the front end makes of a message (live_plot.js rowsOf): per series, in order."""
    return [
        {"step": s, "metric": metric, "value": v}
        for metric, (steps, values) in msg["series"].items()
        for s, v in zip(steps, values, strict=True)
    ]


def test_messages_are_appends_of_new_rows_only() -> None:
    w, comm, clock = plot(min_interval=0.0)
    sizes = []
    for step in range(1, 301):
        clock.t += 0.2
        w.add_row({"step": step, "loss": 0.25})
        sizes.append(len(json.dumps(comm.customs()[-1])))
    msgs = comm.customs()
    assert len(msgs) == 300 and {m["type"] for m in msgs} == {"append"}
    assert rows_of(msgs[-1]) == [{"step": 300, "metric": "loss", "value": 0.25}]
    assert max(sizes) - min(sizes) <= 4  # only the digits of the step grow, not the history
    assert not [
        m for m in comm.sent if m.get("method") == "update" and "spec" in m.get("state", {})
    ]


def test_throttled_to_ten_messages_a_second_and_flushed_at_the_end() -> None:
    w, comm, clock = plot(min_interval=0.1)
    for step in range(1, 1001):
        clock.t += 0.001  # 1000 steps in one second
        w.add_row({"step": step, "loss": 0.5, "acc": 0.9})
    n = len(comm.customs())
    assert 9 <= n <= 11
    w.flush()
    rows = [r for m in comm.customs() for r in rows_of(m)]
    assert len(rows) == 2000 and rows[-1] == {"step": 1000, "metric": "acc", "value": 0.9}
    w.flush()  # nothing pending: nothing sent
    assert len(comm.customs()) == n + 1


class DearComm(RecordingComm):
    """A comm whose every send takes ``cost`` seconds of the (fake) clock."""

    def __init__(self, clock: Clock, cost: float) -> None:
        super().__init__()
        self.clock, self.cost = clock, cost

    def send(self, data: dict, buffers=None) -> None:
        self.clock.t += self.cost
        super().send(data, buffers)


def feed_for(w: LivePlot, clock: Clock, seconds: float, rows_per_s: int = 100) -> int:
    """Rows in at ``rows_per_s`` (the clock moves with them) for ``seconds``; the last step."""
    step = 0
    while clock.t < seconds:
        clock.t += 1 / rows_per_s
        step += 1
        w.add_row({"step": step, "loss": 1.0 / step})
    return step


@pytest.mark.parametrize(
    ("cost", "low", "high"),
    [
        (0.0005, 6.0, 1 / 0.15),  # quiet: every min_interval (0.15-0.16 s with 10 ms rows)
        (0.003, 1.4, 1.9),  # busy: the budget, 0.5% / 3 ms = 1.7 messages a second
        (0.05, 0.9, 1.0),  # very busy: never under one message per max_interval
    ],
)
def test_sends_spend_at_most_the_budget_and_lose_no_row(cost, low, high) -> None:
    clock = Clock()
    w = LivePlot(
        bundle="/* vega stub */", clock=clock, min_interval=0.15, budget=0.005, max_points=10**5
    )
    w.comm = comm = DearComm(clock, cost)
    last = feed_for(w, clock, 60.0)
    rate = len(comm.customs()) / clock.t
    assert low <= rate <= high
    w.flush()
    steps = [r["step"] for m in comm.customs() for r in rows_of(m)]
    assert steps == list(range(1, last + 1))  # throttled rows wait for the next message


def test_a_machine_turning_busy_is_throttled_within_a_few_messages() -> None:
    clock = Clock()
    w = LivePlot(bundle="/* vega stub */", clock=clock, min_interval=0.15, budget=0.005)
    w.comm = comm = DearComm(clock, 0.0005)
    feed_for(w, clock, 600.0)  # ten quiet minutes save up no more than one dear message
    quiet = len(comm.customs())
    comm.cost = 0.003
    feed_for(w, clock, 602.0)
    assert len(comm.customs()) - quiet <= 5  # 13 at the quiet rate


@pytest.mark.parametrize(
    "kwargs",
    [{"min_interval": -1}, {"min_interval": 2.0, "max_interval": 1.0}, {"budget": 0}],
)
def test_bad_pacing_arguments_are_named(kwargs) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        LivePlot(bundle="/* vega stub */", **kwargs)


def test_decimated_past_max_points_and_replay_sends_a_bounded_snapshot() -> None:
    w, comm, clock = plot(min_interval=0.0, max_points=100)
    for step in range(10_000):
        w.add_row({"step": step, "loss": 1.0, "bad": float("nan")})
    sent = [r for m in comm.customs() for r in rows_of(m)]
    assert 100 < len(sent) < 100 * 8  # O(max_points * log(n)), not 10,000
    assert {r["metric"] for r in sent} == {"loss"}  # NaN never reaches the axis
    w._on_front_end(w, {"type": "replay"}, [])
    replay = comm.customs()[-1]
    assert replay["type"] == "replay" and len(rows_of(replay)) <= 100
    assert rows_of(replay)[-1]["step"] == 9999


def test_spec_has_the_named_dataset_and_options_rebuild_it() -> None:
    w, _, _ = plot()
    assert w.spec["data"] == {"name": w.dataset, "values": []}
    w.log_y = True
    assert w.spec["layer"][0]["encoding"]["y"]["scale"] == {"type": "log", "nice": False}
    w.last_n = 3
    assert "datum.last_step - 3" in json.dumps(w.spec)
    w.last_n = 0  # what the box sends for "all steps"
    assert w.last_n is None and "last_step" not in json.dumps(w.spec)


def test_batches_from_the_watch_keep_every_finite_point_and_send_them_in_order() -> None:
    w, comm, clock = plot(min_interval=0.15)
    w.add_rows(
        [(1, {"loss": 2.0}), (1, {"val_loss": 2.5}), (2, {"loss": float("inf"), "acc": 0.5})]
    )
    w.add_rows([(3, {"loss": 1.0})])
    assert len(comm.customs()) == 1  # the second batch came within min_interval
    w.flush()
    rows = [r for m in comm.customs() for r in rows_of(m)]
    assert sorted((r["metric"], r["step"], r["value"]) for r in rows) == [
        ("acc", 2, 0.5),
        ("loss", 1, 2.0),
        ("loss", 3, 1.0),
        ("val_loss", 1, 2.5),
    ]
    assert w._snapshot().to_dict("records")[:2] == [
        {"step": 1, "metric": "loss", "value": 2.0},
        {"step": 3, "metric": "loss", "value": 1.0},
    ]


def test_the_spec_goes_out_with_the_open_message_not_in_an_update(monkeypatch) -> None:
    updates: list = []
    monkeypatch.setattr(LivePlot, "send_state", lambda self, key=None: updates.append(key))
    w = LivePlot(bundle="/* vega stub */")
    assert w.spec["data"] == {"name": w.dataset, "values": []} and "spec" not in updates
    logged = LivePlot(bundle="/* vega stub */", log_y=True, last_n=0)
    assert logged.spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    assert logged.last_n is None and "last_step" not in json.dumps(logged.spec)
    assert w.spec is not logged.spec and w.spec["layer"] is not LivePlot(bundle="").spec["layer"]


def test_front_end_controls_are_in_the_widget_and_synced() -> None:
    js = JS.read_text()
    for needed in ('model.set("log_y"', 'model.set("last_n"', "save_changes()", 'change:findings"'):
        assert needed in js


def test_front_end_code_is_offline_and_marks_ready_after_drawing() -> None:
    js = JS.read_text()
    assert "http" not in js and "import(" in js  # the bundle comes from the kernel, no CDN
    assert js.index("await view.runAsync()") < js.index('setAttribute("data-rw-ready"')
    assert "runAsync" in js and "view.changeset()" in js


def test_static_fallback_text_and_png() -> None:
    w, _, _ = plot(summary=lambda: "Watch(steps=2, loss=0.5, 0 warnings)")
    bundle, _ = w._repr_mimebundle_()
    assert bundle["text/plain"] == "Watch(steps=2, loss=0.5, 0 warnings)"
    assert "<img" not in bundle["text/html"]
    w.add_row({"step": 1, "loss": 1.0})
    w.add_row({"step": 2, "loss": 0.5})
    html = w._repr_mimebundle_()[0]["text/html"]
    assert 'src="data:image/png;base64,' in html
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()[0]


def test_live_watch_feeds_the_plot_and_shows_findings(monkeypatch) -> None:
    import recipe_widgets.widgets._watch_plot as lp

    monkeypatch.setattr(lp, "vega_bundle", lambda: "/* vega stub */")
    shown = []
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    w = LiveWatch(model, opt, display=shown.append)
    comm = RecordingComm()
    w.plot.comm = comm
    with pytest.raises(RuntimeError):
        with w:
            for i in range(5):
                loss = model(torch.ones(2, 3)).pow(2).mean()
                loss.backward()
                opt.step()
                opt.zero_grad()
                w.log(loss=loss if i < 4 else torch.tensor(float("nan")))
            raise RuntimeError("user error inside the loop")
    assert shown == [w.plot] and w.panel is w.plot  # one widget: chart, controls, findings
    rows = [r for m in comm.customs() for r in rows_of(m)]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert "loss_not_finite" in w.plot.findings
    # the loop has ended: the panel folds its findings under their headline, so a cell ending
    # with `w.report` prints them in full once (issue: they printed twice)
    assert w.plot.findings.startswith("<details class='rw-findings-folded'><summary")
    assert "<details open" not in w.plot.findings
    assert "Watch run: FAILED (1 fail" in w.plot.findings
    assert repr(w.plot) == repr(w) == "Watch(steps=5, loss=nan, 1 failure, 0 warnings)"
    assert "loss_not_finite" in w.panel._repr_mimebundle_()[0]["text/html"]
    assert type(watch(model, opt, display=False)).__name__ == "Watch"


def test_a_long_series_keeps_only_what_the_browser_gets() -> None:
    """100,000 points with max_points=100: the plot keeps and sends point n when n % stride(n)
    == 0 (stride 1 up to 100 points, then 2 up to 200, ...), so it holds O(100 * log n), and
    the snapshot still ends at the latest point."""
    w, comm, clock = plot(max_points=100)
    for i in range(100_000):
        w.add_rows([(i, {"loss": float(i)})])
        clock.t += 0.01
    w.flush()
    sent = [r["step"] for m in comm.customs() for r in rows_of(m)]
    expected = [n for n in range(100_000) if n % max(1, 2 ** ((n // 100).bit_length())) == 0]
    assert sent == expected
    assert len(w._steps["loss"]) == len(expected) < 100 * 12
    snap = w._snapshot()
    assert snap["step"].iloc[-1] == 99_999 and len(snap) <= 100
    assert w._static_text() == "LivePlot(100000 points, 1 series)"

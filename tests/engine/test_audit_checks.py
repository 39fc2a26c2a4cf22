"""Each audit check on small hand-made data, the sampler, Ctrl-C, and hostile input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recipe_widgets.engine.audit import audit, audit_table, class_weights, weighted_sampler


def _blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, 5)) + 4 * y[:, None]
    return x, y


class Flaky(torch.utils.data.Dataset):
    def __init__(self, n: int = 60) -> None:
        self.x = torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        if i in (5, 17):
            raise OSError(f"cannot read file {i}.png")
        return self.x[i], i % 3


def test_dataset_items_that_raise_are_kept_and_the_scan_goes_on() -> None:
    report = audit(Flaky(), quiet=True)
    f = report["corrupted_items"]
    assert f.status == "warn"
    assert f.evidence["indices"] == [5, 17]
    assert "OSError: cannot read file 5.png" in f.evidence["reasons"][0]


def test_ctrl_c_returns_findings_so_far() -> None:
    class Interrupting(Flaky):
        def __getitem__(self, i: int):
            if i == 30:
                raise KeyboardInterrupt
            return super().__getitem__(i)

    report = audit(Interrupting(), quiet=True)
    assert report["scan_interrupted"].status == "info"
    assert report["corrupted_items"].evidence["indices"] == [5, 17]  # read before the stop


def test_corrupted_shapes_nan_constant_and_bad_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4, 4))
    x[3, 0, 0] = np.nan
    x[7] = 1.0
    y = rng.integers(0, 3, size=50).astype(float)
    y[9] = -1
    report = audit((x, y), quiet=True)
    f = report["corrupted_items"]
    assert f.evidence["indices"] == [3, 7, 9]
    assert "NaN/Inf" in f.evidence["reasons"][0] and "constant" in f.evidence["reasons"][1]
    assert "out of range" in f.evidence["reasons"][2]


def test_imbalance_weights_and_sampler() -> None:
    y = np.array([0] * 90 + [1] * 10)
    x = np.random.default_rng(0).normal(size=(100, 3))
    f = audit((x, y), quiet=True)["class_imbalance"]
    assert f.status == "warn"
    assert f.evidence["counts"] == {"all": {"0": 90, "1": 10}}
    assert class_weights(y) == pytest.approx({0: 100 / 180, 1: 100 / 20})
    sampler = weighted_sampler(torch.tensor(y), generator=torch.Generator().manual_seed(0))
    drawn = y[list(sampler)]
    assert 0.35 < drawn.mean() < 0.65  # the minority now drawn about half the time


def test_class_missing_from_a_split_warns() -> None:
    x, y = _blobs()
    f = audit(splits={"train": (x, y), "val": (x[y == 0][:20] + 0.01, y[y == 0][:20])}, quiet=True)[
        "class_imbalance"
    ]
    assert f.status == "warn" and "no items of class 1" in f.message


def test_outliers_extreme_warn_mild_info_and_zero_spread_axis() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.normal(size=300), "flat": np.zeros(300), "b": rng.normal(size=300)}
    )
    frame.loc[11, "a"] = 40.0
    frame.loc[12, "b"] = 4.8  # robust z about 4.8: info, not a warning
    report = audit(frame, quiet=True)
    assert report["outliers"].status == "warn"
    assert report["outliers"].evidence["indices"] == [11]
    assert "flat" in report["outliers"].evidence["zero_spread_axes"]
    assert 12 in report["mild_outliers"].evidence["indices"]


def test_label_noise_flags_flipped_items() -> None:
    x, y = _blobs(400)
    y = y.copy()
    flipped = [3, 50, 120, 200, 250, 301, 333, 350, 370, 390, 395]
    y[flipped] = 1 - y[flipped]
    f = audit((x, y), quiet=True)["label_noise"]
    assert f.status == "warn"
    assert set(flipped) <= set(f.evidence["indices"])
    by_item = dict(zip(f.evidence["indices"], f.evidence["suggested"]))
    assert [by_item[i] for i in flipped] == [
        int(v) for v in 1 - y[flipped]
    ]  # the true label back, as plain ints
    assert all(type(v) is int for v in f.evidence["suggested"])


def test_text_near_duplicates_after_normalising() -> None:
    frame = pd.DataFrame({"text": ["Hello, world!", "hello   world", "something else", "other"]})
    report = audit(frame, quiet=True)
    assert report["near_duplicates"].evidence["groups"] == [[0, 1]]
    assert report["exact_duplicates"].status == "pass"


def test_hostile_strings_are_data() -> None:
    frame = pd.DataFrame({"s": ["<img src=x onerror=alert(1)>"] * 2 + ["__import__('os')"]})
    report, table = audit_table(frame, quiet=True)
    assert report["exact_duplicates"].evidence["groups"] == [[0, 1]]


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame({"a": [1.0]}),
        pd.DataFrame({"a": [np.nan] * 20, "b": range(20)}),
        pd.DataFrame({"m": [1, "x", 2.5, None, [1, 2]] * 4}),
        pd.DataFrame(
            np.arange(12).reshape(4, 3),
            columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)]),
        ),
        pd.DataFrame({"v": range(6)}, index=pd.MultiIndex.from_product([[0, 1], [0, 1, 2]])),
        pd.DataFrame(
            {
                "c": pd.Categorical(["a", "b"] * 15),
                "t": pd.date_range("2024-01-01", periods=30, tz="Europe/Paris"),
                "b": [True, False, True] * 10,
            }
        ),
        pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2000))),
    ],
    ids=[
        "empty",
        "one_row",
        "all_nan",
        "mixed_object",
        "multiindex_cols",
        "multiindex_rows",
        "cat_tz_bool",
        "wide",
    ],
)
def test_bad_frames_give_findings_not_crashes(frame: pd.DataFrame) -> None:
    report = audit(frame, quiet=True)
    assert len(report.findings) >= 1
    if len(frame) == 0:
        assert report["empty_data"].status == "warn"
    if (
        frame.columns.nlevels == 1
        and "a" in frame.columns
        and frame["a"].isna().all()
        and len(frame) > 1
    ):
        assert report["empty_columns"].evidence["columns"] == ["a"]


def test_duplicate_column_names_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="duplicate column names"):
        audit(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_data_and_splits_misuse_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="either data or splits"):
        audit(np.zeros((3, 2)), splits={"a": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="can only name a column"):
        audit(splits={"a": np.zeros((3, 2))}, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="pass data"):
        audit()
    with pytest.raises(ValueError, match="labels for"):
        audit(np.zeros((3, 2)), labels=[1, 2])


def test_ctrl_c_during_the_checks_keeps_the_finished_ones(monkeypatch) -> None:
    from recipe_widgets.engine.audit import _api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_api, "outliers", interrupted)
    x, y = _blobs()
    report = audit((x, y), quiet=True)
    assert "corrupted_items" in report and "class_imbalance" in report
    assert "outliers" not in report and "label_noise" not in report
    assert "stopped during outliers" in report["scan_interrupted"].message


def test_engine_import_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, recipe_widgets.engine.audit, recipe_widgets.engine.explore._filter_expr;"
        "bad = [m for m in ('IPython', 'ipywidgets', 'altair', 'anywidget', 'sklearn') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_few_features_make_close_items_info_not_warnings() -> None:
    rng = np.random.default_rng(0)
    report = audit((rng.random((40, 2)), rng.random(40)), quiet=True)
    assert report.warnings == ()
    x = rng.normal(size=(300, 16))
    x[299] = x[0] + 1e-3  # 16 features: a copy this close is no accident
    assert audit(x, quiet=True)["near_duplicates"].evidence["groups"] == [[0, 299]]


def test_frame_nan_cells_are_found_and_a_regression_target_is_not_classes() -> None:
    """A NaN feature cell is as corrupting as an Inf one; a whole-number regression target (the
    diabetes score, 214 values in 442 rows) gets no class advice."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    from recipe_widgets.engine.audit import audit

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = x.assign(target=y)
    frame.iloc[3, 2] = np.nan
    frame.iloc[5, 1] = np.inf
    r = audit(frame, labels="target")
    found = r["corrupted_items"]
    assert found.status == "warn"
    assert dict(zip(found.evidence["indices"], found.evidence["reasons"])) == {
        3: "NaN values",
        5: "Inf values",
    }
    assert r["class_imbalance"].status == "skip"
    assert "continuous" in r["class_imbalance"].message


def test_table_copy_across_a_rounding_step_is_still_a_near_duplicate() -> None:
    """A copy whose value crosses a 0.1 step of the z-scored rounding (different rounded keys)
    is within the near threshold, and the neighbour search groups it with its original."""
    from recipe_widgets.engine.audit import _duplicates as dup
    from recipe_widgets.engine.items import read_items

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 10)), columns=[f"c{i}" for i in range(10)])
    frame.loc[299] = frame.loc[0]
    for _ in range(3):  # put row 0's c0 at a rounding step, row 299's just across it
        mean, sd = frame["c0"].mean(), frame["c0"].std()
        frame.loc[0, "c0"] = mean + 0.45 * sd - 0.001 * sd
        frame.loc[299, "c0"] = mean + 0.45 * sd + 0.001 * sd
    keys = dup.near_keys(read_items(frame, None, None, quiet=True))
    assert keys[0] != keys[299]  # the rounding alone would miss them
    report = audit(frame, quiet=True)
    assert report["near_duplicates"].evidence["groups"] == [[0, 299]]
    assert "within distance 0.1" in report["near_duplicates"].evidence["method"]
    assert report["exact_duplicates"].status == "pass"


def test_label_noise_states_its_search_and_recall(monkeypatch) -> None:
    from recipe_widgets.engine.audit import _neighbours as nb

    x, y = _blobs(1200)
    exact = audit((x, y), quiet=True)["label_noise"].evidence
    assert exact["search"].startswith("exact") and exact["recall"] == 1.0
    monkeypatch.setattr(nb, "EXACT_BELOW", 500)
    approx = audit((x, y), quiet=True)["label_noise"].evidence
    assert "k-means cells" in approx["search"]
    assert approx["recall_sample"] == nb.RECALL_SAMPLE and approx["recall"] >= 0.95

"""rw.audit on a table read in place: planted defects found, with the rows that carry them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recipe_widgets as rw

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")


def _clean(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "kind": rng.choice(["x", "y", "z"], n),
            "text": [f"row {i}" for i in range(n)],
            "label": rng.integers(0, 3, n),
            "split": np.where(np.arange(n) % 5 == 0, "val", "train"),
        }
    )


def _arrow(frame: pd.DataFrame) -> pa.Table:
    # from_pandas=False keeps NaN as NaN (pandas' own conversion would make it a null).
    return pa.table({c: pa.array(frame[c], from_pandas=frame[c].dtype.kind != "f") for c in frame})


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    f = _clean()
    f.loc[5, "a"] = np.nan
    f.loc[6, "b"] = np.inf
    f.loc[7, "kind"] = None
    f.loc[100, "a"] = 50.0  # an outlier
    f.loc[201] = f.loc[202].to_numpy()  # 201 and 202: train, an exact copy
    f.loc[301, ["a", "b", "kind", "text", "label"]] = f.loc[
        300, ["a", "b", "kind", "text", "label"]
    ]
    assert (f.loc[300, "split"], f.loc[301, "split"]) == ("val", "train")  # leaked
    f.loc[401, ["b", "kind", "label"]] = f.loc[402, ["b", "kind", "label"]]
    f.loc[401, "a"] = f.loc[402, "a"] + 1e-4
    f.loc[401, "text"] = f.loc[402, "text"].upper() + "!"  # near, not exact
    return f


def _by_check(report: rw.Report) -> dict[str, rw.Finding]:
    return {f.check: f for f in report.findings}


def test_every_planted_defect_is_found_with_its_rows(planted: pd.DataFrame) -> None:
    found = _by_check(rw.audit(_arrow(planted), labels="label", splits="split"))
    missing = found["missing_values"]
    assert missing.status == "warn" and missing.evidence["indices"] == [5, 6, 7]
    assert missing.evidence["columns"] == {
        "a": {"null": 0, "nan": 1, "inf": 0},
        "b": {"null": 0, "nan": 0, "inf": 1},
        "kind": {"null": 1, "nan": 0, "inf": 0},
    }
    assert found["exact_duplicates"].evidence["groups"] == [[201, 202]]
    assert found["split_leakage"].evidence["groups"] == [[300, 301]]
    assert found["near_duplicates"].evidence["groups"] == [[401, 402]]
    assert "on all 3000 rows" in found["near_duplicates"].message
    assert found["outliers"].evidence["indices"] == [100]
    assert found["class_imbalance"].status == "pass"


def test_a_clean_table_passes(tmp_path) -> None:
    _clean().to_parquet(tmp_path / "clean.parquet")
    report = rw.audit(str(tmp_path / "clean.parquet"), labels="label", splits="split")
    assert {f.check: f.status for f in report.findings} == {
        "missing_values": "pass",
        "exact_duplicates": "pass",
        "split_leakage": "pass",
        "near_duplicates": "pass",
        "class_imbalance": "pass",
        "outliers": "pass",
    }
    assert "3000 rows" in report.title


def test_imbalance_per_split_and_a_stated_sample(planted: pd.DataFrame) -> None:
    f = planted.copy()
    f.loc[f["split"] == "train", "label"] = np.where(
        np.arange((f["split"] == "train").sum()) < 30, 1, 0
    )
    report = rw.audit(pl.from_pandas(f), labels="label", splits="split", near_sample=1000)
    found = _by_check(report)
    imb = found["class_imbalance"]
    assert imb.status == "warn" and "'train'" in imb.message
    assert imb.evidence["counts"]["train"] == {"0": 2370, "1": 30}
    assert "a random sample of 1000 of 3000 rows" in found["near_duplicates"].message


def test_columns_are_named_and_checked(planted: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="labels='klass' is not a column"):
        rw.audit(_arrow(planted), labels="klass")
    with pytest.raises(ValueError, match="splits= names a column"):
        rw.audit(_arrow(planted), splits={"train": planted})
    assert _by_check(rw.audit(_arrow(planted)))["class_imbalance"].status == "skip"

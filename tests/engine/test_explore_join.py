"""The explorer's table joined with an audit: flags per item, and the audit's items reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import Dataset

from recipe_widgets.engine.audit import audit
from recipe_widgets.engine.explore import explore_table, item_table
from recipe_widgets.engine.items import MAX_ITEMS


class Counting(Dataset):
    """Eight 8x8 images (two the same), counting every item read."""

    def __init__(self) -> None:
        self.reads = 0
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(8, 1, 8, 8, generator=g)
        self.x[5] = self.x[2]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        self.reads += 1
        return self.x[i], i % 2


def test_explore_with_an_audit_report_reads_nothing_again() -> None:
    data = Counting()
    report = audit(data, quiet=True)
    assert data.reads == 8
    reused = explore_table(report=report)
    same_object = explore_table(data, report=report)
    assert data.reads == 8  # both tables came from the items the audit read
    fresh = explore_table(Counting(), report=report)  # other data: read, then joined
    for table in (reused, same_object):
        pd.testing.assert_frame_equal(table.frame, fresh.frame)
        assert (table.images == fresh.images).all() and table.note == fresh.note
    assert reused.frame["flags"][2] == "exact_duplicates"
    assert reused.frame["group"][5] == "exact_duplicates#0"


def test_explore_of_one_split_of_an_audit_over_splits() -> None:
    rng = np.random.default_rng(0)
    train, test = rng.random((6, 3)), rng.random((4, 3))
    test[1] = train[4]  # a leak
    splits = {"train": (train, np.arange(6) % 2), "test": (test, np.array([1, 1, 0, 0]))}
    report = audit(splits=splits, quiet=True)
    with pytest.raises(ValueError, match="split="):
        explore_table(report=report)
    table = explore_table(report=report, split="test")
    assert table.frame["label"].tolist() == [1, 1, 0, 0]  # this split's items only
    assert "split_leakage" in table.frame["flags"][1]
    assert table.frame["group"][1] == "split_leakage#0"
    fresh = item_table(*splits["test"]).frame
    pd.testing.assert_frame_equal(table.frame.drop(columns=["flags", "group"]), fresh)
    reused = explore_table(train, report=report, split="train")
    assert reused.frame["label"].tolist() == [0, 1, 0, 1, 0, 1]


def test_one_reader_one_limit_for_audit_and_explore() -> None:
    class Huge(Dataset):
        def __len__(self) -> int:
            return MAX_ITEMS + 1

        def __getitem__(self, i: int):
            raise AssertionError("the limit is checked before any item is read")

    for read in (lambda: audit(Huge(), quiet=True), lambda: item_table(Huge())):
        with pytest.raises(ValueError, match=f"at most {MAX_ITEMS}"):
            read()


def test_flags_from_an_audit_over_splits_land_on_the_right_split_only() -> None:
    import recipe_widgets as rw
    from recipe_widgets.engine.explore import flag_column

    report = rw.Report(
        (
            rw.Finding(
                "exact_duplicates",
                "warn",
                "copies",
                evidence={"indices": [["train", 1], ["test", 2]]},
            ),
            rw.Finding("label_noise", "info", "hints", evidence={"indices": [["train", 2]]}),
        )
    )
    assert flag_column(4, report, "train") == ["", "exact_duplicates", "label_noise", ""]
    assert flag_column(4, report, "test") == ["", "", "exact_duplicates", ""]
    with pytest.raises(ValueError, match="split="):
        flag_column(4, report)


def test_thumbnails_use_the_pixel_mapping_of_decode() -> None:
    from recipe_widgets.engine.decode import decode

    dim = torch.linspace(0, 0.5, 4 * 8 * 8).reshape(4, 1, 8, 8)  # [0, 1] data, all of it dark
    table = item_table(dim)
    assert table.images.max() == 128  # 0.5 of full brightness, not stretched to white
    assert (table.images == decode(dim).images[..., 0]).all()

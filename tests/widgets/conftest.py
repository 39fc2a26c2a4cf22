"""A small per-item table shared by the explorer's tests (in memory, and read in place)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HOSTILE = '<img src=x onerror="window.__rw_pwned=1">'


@pytest.fixture
def frame() -> pd.DataFrame:
    """60 items, three labels, item 7's caption an HTML injection attempt."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "label": np.arange(60) % 3,
            "brightness": rng.random(60),
            "caption": [HOSTILE if i == 7 else f"item {i}" for i in range(60)],
        }
    )

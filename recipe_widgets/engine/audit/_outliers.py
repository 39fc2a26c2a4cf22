"""Outliers along every numeric axis (robust z-score, IQR) and jointly (isolation forest).

Robust z = (x - median) / (1.4826 * MAD): a few wild values cannot inflate the scale that judges
them, unlike a plain z-score. When MAD is 0 (more than half the values equal) the IQR / 1.349 is
the scale; when that is 0 too the axis has no spread and is listed, never divided by. Only
|z| > 6 warns (a value a clean distribution essentially never produces); 3.5 < |z| <= 6 is info.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recipe_widgets.engine import arrays
from recipe_widgets.engine.items import Items
from recipe_widgets.engine.results import Finding

WARN_Z = 6.0
INFO_Z = 3.5


def axes_table(items: Items, usable: np.ndarray) -> pd.DataFrame:
    """The numeric axes to judge: a frame's numeric columns, or per-item mean/std/min/max."""
    if items.frame is not None:
        num = items.frame.select_dtypes(include=["number", "bool"]).astype(np.float64)
        return num.replace([np.inf, -np.inf], np.nan)
    stats = np.full((items.n, 4), np.nan)
    for i in np.flatnonzero(usable):
        r = items.rows[i].astype(np.float64)
        stats[i] = (r.mean(), r.std(), r.min(), r.max())
    return pd.DataFrame(stats, columns=["mean", "std", "min", "max"])


def robust_z(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per-axis robust z-scores (NaN where undefined) and the axes with zero spread."""
    z, flat = arrays.robust_z(table.to_numpy(dtype=np.float64), fallback="iqr")
    return pd.DataFrame(z, columns=table.columns), [
        str(c) for c, f in zip(table.columns, flat) if f
    ]


def outliers(items: Items, usable: np.ndarray) -> tuple[list[Finding], pd.DataFrame]:
    """Findings, and per-item columns for the explorer: the axes (for non-tables) and scores."""
    table = axes_table(items, usable)
    if items.n < 8 or table.shape[1] == 0:
        skip = Finding(
            "outliers", "skip", "fewer than 8 items or no numeric axes; nothing to compare against"
        )
        return [skip], (table if items.frame is None else pd.DataFrame(index=table.index))
    z, flat = robust_z(table)
    absz = z.abs().to_numpy()
    with np.errstate(all="ignore"):
        worst = np.where(
            np.isnan(absz).all(axis=1), np.nan, np.nanmax(np.nan_to_num(absz, nan=-1), axis=1)
        )
    names = np.asarray([str(c) for c in table.columns] + [""], dtype=object)
    axis = np.nan_to_num(absz, nan=-1).argmax(axis=1)
    worst_axis = names[np.where(np.isfinite(worst), axis, len(names) - 1)].tolist()
    scores = pd.DataFrame({"robust_z": worst, "robust_z_axis": worst_axis})
    if items.frame is None:  # an array's per-item mean/std/min/max are columns worth sorting by
        scores = pd.concat([table.reset_index(drop=True), scores], axis=1)
    findings: list[Finding] = []
    extreme = np.flatnonzero(worst > WARN_Z)
    mild = np.flatnonzero((worst > INFO_Z) & (worst <= WARN_Z))
    evidence = {
        "method": "robust z-score (median, 1.4826*MAD; IQR/1.349 when MAD is 0)",
        "threshold": WARN_Z,
        "zero_spread_axes": flat[:50],
    }
    if len(extreme):
        order = extreme[np.argsort(-worst[extreme])]
        findings.append(
            Finding(
                "outliers",
                "warn",
                f"{len(extreme)} item(s) lie beyond robust z {WARN_Z:g} on some axis (worst: "
                f"{worst[order[0]]:.1f} on {worst_axis[order[0]]})",
                fix="look at them (rw.explore, sort by robust_z): outliers this far are usually bugs in "
                "loading or preprocessing (wrong units, a sentinel value, a corrupted file)",
                evidence={
                    **evidence,
                    "indices": [items.ref(i) for i in order],
                    "scores": [float(worst[i]) for i in order],
                    "axes": [worst_axis[i] for i in order],
                },
            )
        )
    else:
        findings.append(
            Finding(
                "outliers",
                "pass",
                f"no item beyond robust z {WARN_Z:g} on any axis",
                evidence=evidence,
            )
        )
    if len(mild):
        findings.append(
            Finding(
                "mild_outliers",
                "info",
                f"{len(mild)} item(s) between robust z {INFO_Z:g} and {WARN_Z:g}: worth a look, not an alarm",
                evidence={
                    "indices": [items.ref(i) for i in mild],
                    "threshold": INFO_Z,
                    "method": "robust z-score",
                },
            )
        )
    findings.extend(_isolation(items, table, usable, scores))
    return findings, scores


def _isolation(
    items: Items, table: pd.DataFrame, usable: np.ndarray, scores: pd.DataFrame
) -> list[Finding]:
    """Multivariate: isolation forest on the z-scored axes; info only, ranked for a person."""
    from sklearn.ensemble import IsolationForest

    ok = np.flatnonzero(usable & table.notna().all(axis=1).to_numpy())
    if len(ok) < 50:
        return []
    x = table.to_numpy(dtype=np.float64)[ok][:, :200]
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    forest = IsolationForest(n_estimators=100, max_samples=min(256, len(ok)), random_state=0)
    s = -forest.fit(x).score_samples(x)  # higher = more isolated
    scores["isolation"] = np.nan
    scores.loc[ok, "isolation"] = s
    cut = float(np.quantile(s, 0.995))
    top = ok[s >= cut]
    return [
        Finding(
            "multivariate_outliers",
            "info",
            f"the {len(top)} most isolated item(s) by an isolation forest (top 0.5%): the unusual "
            "combinations no single axis shows",
            evidence={
                "indices": [items.ref(i) for i in top],
                "method": "isolation forest, 100 trees",
                "threshold": cut,
            },
        )
    ]

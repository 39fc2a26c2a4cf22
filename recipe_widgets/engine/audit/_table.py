"""``rw.audit`` on a table read in place: each check is a few DuckDB scans, never a full load.

Missing and non-finite cells per column; exact duplicate rows and rows shared across splits
(a 64-bit hash of the feature columns, grouped); outliers per numeric column (robust z from
approximate quantiles); label counts per split; near duplicates on a stated random sample.
Every finding names its rows by row id (0..N-1 in the table's order), at most ``MAX_IDS`` of
them, with the full count in the message: ``rw.explore(path).show(finding)`` shows them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recipe_widgets.engine.audit._imbalance import WARN_RATIO
from recipe_widgets.engine.audit._outliers import INFO_Z, WARN_Z
from recipe_widgets.engine.explore import ROW, DuckSource, fresh_name
from recipe_widgets.engine.results import Finding, Report

MAX_IDS = 1_000  # row ids kept per finding; the message gives the full count
MAX_GROUPS = 50  # duplicate groups listed in full
NEAR_SAMPLE = 1_000_000  # rows looked at for near duplicates (a stated random sample past it)
MAX_CLASSES = 1_000  # more distinct labels than this: a regression target, not classes


class _Audit:
    def __init__(
        self, source: DuckSource, labels: str | None, split: str | None, near_sample: int
    ) -> None:
        self.s = source
        for name, what in ((labels, "labels"), (split, "splits")):
            if name is not None and name not in source.kinds:
                raise ValueError(
                    f"{what}={name!r} is not a column of the table ({', '.join(source.columns)})"
                )
        self.label = source.col(labels) if labels else None
        self.split = source.col(split) if split else None
        skip = {labels, split}
        self.features = [source.col(c) for c in source.columns if c not in skip]
        self.numbers = [c for c in self.features if c.kind in ("float", "number")]
        self.near_sample = near_sample
        self.v = source.view
        self._repeats: str | None = None

    def rows(self, where: str, params: tuple[Any, ...] = ()) -> list[int]:
        sql = f"SELECT {ROW} FROM {self.v} WHERE {where} ORDER BY {ROW} LIMIT {MAX_IDS}"
        return [int(r[0]) for r in self.s._run(sql, params).fetchall()]

    # -- missing and non-finite ----------------------------------------------------------------
    def missing(self) -> Finding:
        parts = []
        for c in [self.s.col(n) for n in self.s.columns]:
            parts.append(f"count(*) FILTER ({c.sql} IS NULL)")
            nan = f"isnan({c.sql})" if c.kind == "float" else "FALSE"
            inf = f"isinf({c.sql})" if c.kind == "float" else "FALSE"
            parts += [f"count(*) FILTER ({nan})", f"count(*) FILTER ({inf})"]
        got = self.s._one(f"SELECT {', '.join(parts)} FROM {self.v}")
        per: dict[str, dict[str, int]] = {}
        for k, name in enumerate(self.s.columns):
            null, nan, inf = (int(x) for x in got[3 * k : 3 * k + 3])
            if null or nan or inf:
                per[name] = {"null": null, "nan": nan, "inf": inf}
        if not per:
            return Finding("missing_values", "pass", "no missing or non-finite cells")
        bad = [self.s.col(n) for n in per]
        where = " OR ".join(
            f"{c.missing()} OR isinf({c.sql})" if c.kind == "float" else c.missing() for c in bad
        )
        non_finite = sum(p["nan"] + p["inf"] for p in per.values())
        said = ", ".join(
            f"{n} ({', '.join(f'{v} {k}' for k, v in p.items() if v)})" for n, p in per.items()
        )
        return Finding(
            "missing_values",
            "warn" if non_finite else "info",
            f"{sum(sum(p.values()) for p in per.values())} cells missing or not finite: {said}",
            fix="fill or drop them before training: one NaN feature makes the loss NaN",
            evidence={"columns": per, "indices": self.rows(where)},
        )

    # -- duplicates and leakage ------------------------------------------------------------------
    def _hashed(self) -> str:
        """Every row's hash over the feature columns (its split beside it when there is one)."""
        cols = ", ".join(c.sql for c in self.features)
        split = f", {self.split.sql} AS split" if self.split else ", NULL AS split"
        return f"SELECT {ROW} AS r, hash({cols}) AS k{split} FROM {self.v}"

    def _repeated(self) -> str:
        """A temporary table of the rows whose hash occurs more than once (two scans, once):
        duplicates and leakage are then grouped on it, not on the whole table."""
        if self._repeats is None:
            self._repeats = fresh_name("repeats")
            self.s._run(
                f"CREATE TEMP TABLE {self._repeats} AS WITH h AS ({self._hashed()}) "
                "SELECT r, k, split FROM h WHERE k IN "
                "(SELECT k FROM h GROUP BY k HAVING count(*) > 1)"
            )
        return self._repeats

    def _groups(self, having: str, within_split: bool) -> tuple[int, int, list[list[int]]]:
        keys = "k, split" if within_split else "k"
        counted = (
            f"WITH g AS (SELECT {keys}, count(*) AS n, min(r) AS first, list(r ORDER BY r) AS rows "
            f"FROM {self._repeated()} GROUP BY {keys} HAVING {having})"
        )
        n_groups, n_rows = self.s._one(f"{counted} SELECT count(*), coalesce(sum(n), 0) FROM g")
        listed = self.s._run(f"{counted} SELECT rows FROM g ORDER BY first LIMIT {MAX_GROUPS}")
        return int(n_groups), int(n_rows), [[int(r) for r in g[0]] for g in listed.fetchall()]

    def duplicates(self) -> list[Finding]:
        n_groups, n_rows, groups = self._groups("count(*) > 1", within_split=True)
        where = " within a split" if self.split else ""
        method = f"64-bit hash of {len(self.features)} columns (all but the label and split)"
        if not n_groups:
            out = [Finding("exact_duplicates", "pass", f"no exact duplicate rows{where}")]
        else:
            out = [
                Finding(
                    "exact_duplicates",
                    "warn",
                    f"{n_groups} group(s) of exact duplicate rows ({n_rows} rows){where}",
                    fix="drop the copies: duplicates weigh some rows twice in the loss and "
                    "inflate metrics",
                    evidence={
                        "indices": sorted({r for g in groups for r in g})[:MAX_IDS],
                        "groups": groups,
                        "method": method,
                    },
                )
            ]
        if self.split:
            out.append(self.leakage())
        return out

    def leakage(self) -> Finding:
        n_groups, n_rows, groups = self._groups("count(DISTINCT split) > 1", within_split=False)
        if not n_groups:
            return Finding("split_leakage", "pass", "no row appears in more than one split")
        return Finding(
            "split_leakage",
            "warn",
            f"{n_groups} row group(s) appear in more than one split ({n_rows} rows): the "
            "evaluation sees training data",
            fix="remove the copies from the evaluation splits (or split by group, e.g. "
            "GroupShuffleSplit)",
            evidence={
                "indices": sorted({r for g in groups for r in g})[:MAX_IDS],
                "groups": groups,
            },
        )

    # -- outliers ---------------------------------------------------------------------------------
    def _quantiles(self, of: list[str], qs: list[float]) -> list[list[float | None]]:
        """Approximate quantiles ``qs`` of each expression in ``of``, in one scan."""
        got = self.s._one(
            "SELECT " + ", ".join(f"approx_quantile({e}, {qs!r})" for e in of) + f" FROM {self.v}"
        )
        return [[None if v is None else float(v) for v in g or [None] * len(qs)] for g in got]

    def outliers(self) -> Finding:
        cols = self.numbers
        if not cols:
            return Finding("outliers", "skip", "no numeric columns to look for outliers in")
        x = {
            c.name: f"(CASE WHEN isfinite(CAST({c.sql} AS DOUBLE)) THEN CAST({c.sql} AS DOUBLE) END)"
            for c in cols
        }
        q1, med, q3 = zip(*self._quantiles(list(x.values()), [0.25, 0.5, 0.75]))
        spread = [f"abs({x[c.name]} - {m or 0.0!r})" for c, m in zip(cols, med)]
        mad = [g[0] for g in self._quantiles(spread, [0.5])]
        z: dict[str, str] = {}
        scales: dict[str, dict[str, float]] = {}
        for c, m, d, lo, hi in zip(cols, med, mad, q1, q3):
            scale = 1.4826 * (d or 0.0) or ((hi or 0.0) - (lo or 0.0)) / 1.349
            if m is None or not scale > 0:
                continue  # all missing, or no spread: a z-score says nothing
            z[c.name] = f"abs({x[c.name]} - {m!r}) / {scale!r}"
            scales[c.name] = {"median": m, "scale": scale}
        if not z:
            return Finding("outliers", "pass", "no numeric column has a spread to measure")
        counts = self.s._one(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER ({e} > {WARN_Z}), count(*) FILTER ({e} > {INFO_Z})"
                for e in z.values()
            )
            + f" FROM {self.v}"
        )
        per = {
            n: {"warn": int(counts[2 * k]), "info": int(counts[2 * k + 1])} for k, n in enumerate(z)
        }
        far = {n: p for n, p in per.items() if p["warn"]}
        method = f"robust z (median, 1.4826 * MAD from approximate quantiles) > {WARN_Z:g}"
        if not far:
            return Finding(
                "outliers",
                "pass",
                f"no value lies past |z| {WARN_Z:g}",
                evidence={"method": method},
            )
        where = " OR ".join(f"{z[n]} > {WARN_Z}" for n in far)
        said = ", ".join(f"{n} ({p['warn']})" for n, p in far.items())
        return Finding(
            "outliers",
            "warn",
            f"{sum(p['warn'] for p in far.values())} values far from the rest (|robust z| > {WARN_Z:g}): {said}",
            fix="look at these rows in the explorer: a unit error, a sentinel (-1, 9999) or a bad "
            "join; clip or drop them if they are wrong",
            evidence={
                "indices": self.rows(where),
                "columns": per,
                "scales": scales,
                "method": method,
            },
        )

    # -- labels -----------------------------------------------------------------------------------
    def imbalance(self) -> Finding:
        if self.label is None:
            return Finding(
                "class_imbalance", "skip", "no labels given; pass labels= to count classes"
            )
        lab, split = self.label.sql, self.split.sql if self.split else "'all'"
        distinct = self.s._one(f"SELECT approx_count_distinct({lab}) FROM {self.v}")[0]
        if self.label.kind == "float" or int(distinct) > MAX_CLASSES:
            return Finding(
                "class_imbalance",
                "skip",
                f"labels take about {distinct} values: not classes to count",
            )
        got = self.s._run(
            f"SELECT CAST({split} AS VARCHAR), CAST({lab} AS VARCHAR), count(*) FROM {self.v} "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for sp, label, n in got:
            counts.setdefault(str(sp), {})[str(label)] = int(n)
        ratios = {sp: max(c.values()) / min(c.values()) for sp, c in counts.items()}
        worst = max(ratios, key=lambda sp: ratios[sp])
        evidence = {"counts": counts, "ratios": ratios}
        if ratios[worst] <= WARN_RATIO:
            return Finding(
                "class_imbalance",
                "pass",
                f"classes balanced within {WARN_RATIO:g}x in every split",
                evidence=evidence,
            )
        c = counts[worst]
        big, small = max(c, key=c.__getitem__), min(c, key=c.__getitem__)
        return Finding(
            "class_imbalance",
            "warn",
            f"in {worst!r}, class {big} has {c[big]} rows and class {small} {c[small]} "
            f"({ratios[worst]:.1f}x)",
            fix="weight the loss (rw.class_weights) or sample classes evenly (rw.weighted_sampler), "
            "and report per-class metrics",
            evidence=evidence,
        )

    # -- near duplicates on a sample -------------------------------------------------------------
    def _near_key(self) -> str:
        """As the in-memory audit of a frame: numbers z-scored and rounded to 0.1, text
        lower-cased without punctuation; hashed together."""
        parts = []
        if self.numbers:
            stats = self.s._one(
                "SELECT "
                + ", ".join(f"avg({c.sql}), stddev_samp({c.sql})" for c in self.numbers)
                + f" FROM {self.v}"
            )
            for k, c in enumerate(self.numbers):
                mean, sd = stats[2 * k] or 0.0, stats[2 * k + 1] or 1.0
                sd = sd if sd > 0 and np.isfinite(sd) else 1.0
                m = float(mean) if np.isfinite(mean) else 0.0
                parts.append(f"round((CAST({c.sql} AS DOUBLE) - {m!r}) / {float(sd)!r}, 1)")
        for c in self.features:
            if c.kind == "text":
                low = f"regexp_replace(lower({c.sql}), '[^\\w\\s]', '', 'g')"
                parts.append(f"trim(regexp_replace({low}, '\\s+', ' ', 'g'))")
            elif c.kind not in ("float", "number"):
                parts.append(c.sql)  # times, flags: as they are (a cast to text costs a scan)
        return f"hash({', '.join(parts)})"

    def near(self) -> Finding:
        feats = ", ".join(c.sql for c in self.features)
        whole = self.s.n_rows <= self.near_sample
        sample = (
            ""
            if whole
            else (f" USING SAMPLE reservoir({int(self.near_sample)} ROWS) REPEATABLE (0)")
        )
        looked = (
            f"on all {self.s.n_rows} rows"
            if whole
            else (f"on a random sample of {self.near_sample} of {self.s.n_rows} rows")
        )
        keys = fresh_name("near")  # the sample's keys, kept: counted, then listed
        self.s._run(
            f"CREATE TEMP TABLE {keys} AS SELECT {ROW} AS r, hash({feats}) AS exact, "
            f"{self._near_key()} AS k FROM {self.v}{sample}"
        )
        keyed = (
            f"WITH g AS (SELECT k, min(r) AS first FROM {keys} GROUP BY k "
            "HAVING count(DISTINCT exact) > 1)"  # one exact group is reported as exact
        )
        n_groups = int(self.s._one(f"{keyed} SELECT count(*) FROM g")[0])
        method = (
            f"numbers z-scored and rounded to 0.1, text lower-cased without punctuation, {looked}"
        )
        evidence: dict[str, Any] = {
            "method": method,
            "sample": min(self.near_sample, self.s.n_rows),
        }
        if not n_groups:
            return Finding(
                "near_duplicates", "pass", f"no near duplicates {looked}", evidence=evidence
            )
        groups = [
            [int(r) for r in g[0]]
            for g in self.s._run(
                f"{keyed}, t AS (SELECT * FROM g ORDER BY first LIMIT {MAX_GROUPS}) "
                f"SELECT list(s.r ORDER BY s.r) FROM {keys} s JOIN t ON s.k = t.k "
                "GROUP BY t.first ORDER BY t.first"
            ).fetchall()
        ]
        flagged = sorted({r for g in groups for r in g})
        return Finding(
            "near_duplicates",
            "info",
            f"{n_groups} group(s) of near duplicates {looked}",
            fix="look at them side by side: near copies (a re-encoded or rounded row) leak "
            "across splits as exact ones do",
            evidence={**evidence, "indices": flagged[:MAX_IDS], "groups": groups},
        )


def audit_source(
    source: DuckSource,
    *,
    labels: str | None = None,
    splits: str | None = None,
    near_sample: int = NEAR_SAMPLE,
) -> Report:
    """The data audit as DuckDB queries on ``source``; ``labels`` and ``splits`` name columns."""
    a = _Audit(source, labels, splits, near_sample)
    findings = [a.missing(), *a.duplicates(), a.near(), a.imbalance(), a.outliers()]
    return Report(tuple(findings), title=f"Data audit ({source.n_rows} rows, {source.how})")


def audit_data(data: Any, **options: Any) -> Report:
    """``rw.audit`` on a table read in place: a path, a relation, Arrow or Polars data."""
    options.pop("near_threshold", None)  # as for a DataFrame: rounded keys, not a distance
    names = ("labels", "splits", "near_sample")
    audit_options = {k: options.pop(k) for k in names if k in options}
    for name in ("labels", "splits"):
        given = audit_options.get(name)
        if given is not None and not isinstance(given, str):
            raise ValueError(
                f"{name}= names a column of the table (e.g. {name}='{name[:-1]}'); got "
                f"{type(given).__name__}"
            )
    return audit_source(DuckSource.open(data, **options), **audit_options)

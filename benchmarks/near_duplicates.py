"""Near-duplicate search over 50,000 small images, recall measured on planted copies, with
cleanvision's near-duplicate check on the same images in the same run when it is installed.

    python benchmarks/near_duplicates.py                 # 50,000 32x32 images, bars enforced
    python benchmarks/near_duplicates.py --smoke         # 3,000 images, no bars (make test)
    python benchmarks/near_duplicates.py --no-cleanvision

Images: random 8x8 grey patterns blown up to 32x32 plus fine pixel noise (no two alike by
chance). Planted: 2% of them copied with pixel noise (sd 4 of 255) and 3% brighter, and 0.5%
copied exactly. Bars: the near-duplicate search (codes, KD-tree, verification, grouping) within
15 s; recall >= 0.9 on planted near copies; at most 1% of the flagged items outside the planted
ones and their originals. cleanvision (``pip install cleanvision``; it does not pull torch) reads
the same images from PNG files it is given; its time includes its own reading, not our writing.
Last line ``RESULT near_duplicates ...``; exit 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recipe_widgets.engine.audit import _duplicates as dup  # noqa: E402 - after sys.path
from recipe_widgets.engine.items import read_items  # noqa: E402

BAR_SECONDS = 15.0
BAR_RECALL = 0.9
BAR_FALSE = 0.01


def make_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images uint8 (n, 32, 32), originals, copies)``: copies[i] was made from originals[i]."""
    rng = np.random.default_rng(seed)
    n_near, n_exact = int(0.02 * n), int(0.005 * n)
    base = n - n_near - n_exact
    small = rng.uniform(0, 255, size=(base, 8, 8))
    imgs = np.kron(small, np.ones((4, 4))) + rng.normal(0, 6, size=(base, 32, 32))  # (B, 32, 32)
    src = rng.choice(base, size=n_near + n_exact, replace=False)
    near = imgs[src[:n_near]] * 1.03 + rng.normal(0, 4, size=(n_near, 32, 32))
    exact = imgs[src[n_near:]]
    out = np.clip(np.concatenate([imgs, near, exact]), 0, 255).astype(np.uint8)
    copies = np.arange(base, n)
    perm = rng.permutation(n)  # copies scattered, not all at the end
    where = np.empty(n, dtype=int)
    where[perm] = np.arange(n)
    return out[perm], where[src], where[copies]


def ours(images: np.ndarray) -> tuple[float, list[list[int]]]:
    t0 = time.perf_counter()
    items = read_items(images, None, None, quiet=True)
    usable = np.ones(items.n, dtype=bool)
    codes = dup.embed(items, usable)
    groups = dup.groups_from_pairs(items.n, dup.near_pairs(codes, dup.NEAR_THRESHOLD))
    exact = dup.groups_from_keys(dup.exact_keys(items))
    return time.perf_counter() - t0, groups + exact


def score(
    groups: list[list[int]], originals: np.ndarray, copies: np.ndarray, n_near: int
) -> tuple[float, float, int]:
    where = {i: g for g, members in enumerate(groups) for i in members}
    found = [where.get(int(o), -1) == where.get(int(c), -2) for o, c in zip(originals, copies)]
    recall_near = float(np.mean(found[:n_near])) if n_near else 1.0
    recall_exact = float(np.mean(found[n_near:])) if len(found) > n_near else 1.0
    flagged = set(where)
    outside = len(flagged - set(originals.tolist()) - set(copies.tolist()))
    return recall_near, recall_exact, outside


def cleanvision(images: np.ndarray) -> tuple[float, list[list[int]]] | None:
    try:
        from cleanvision import Imagelab
        from PIL import Image
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, img in enumerate(images):
            p = f"{tmp}/{i:06d}.png"
            Image.fromarray(img).save(p)
            paths.append(p)
        index = {p: i for i, p in enumerate(paths)}
        t0 = time.perf_counter()
        lab = Imagelab(filepaths=paths)
        lab.find_issues({"near_duplicates": {}, "exact_duplicates": {}}, verbose=False)
        seconds = time.perf_counter() - t0
        sets = lab.info["near_duplicates"]["sets"] + lab.info["exact_duplicates"]["sets"]
        groups = [[index[p] for p in s] for s in sets]
    return seconds, groups


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="3,000 images, no bars")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--no-cleanvision", action="store_true")
    args = ap.parse_args()
    n = args.n or (3_000 if args.smoke else 50_000)
    images, originals, copies = make_images(n)
    n_near = int(0.02 * n)
    seconds, groups = ours(images)
    rn, rx, outside = score(groups, originals, copies, n_near)
    print(
        f"recipe_widgets: {n} images {images.shape[1:]} in {seconds:.2f} s; recall near {rn:.3f}, "
        f"exact {rx:.3f}; {outside} flagged outside the planted copies and originals "
        f"(threshold {dup.NEAR_THRESHOLD} on unit-length 8x8 codes)"
    )
    cv = "not run"
    if not args.no_cleanvision:
        res = cleanvision(images)
        if res is None:
            print("cleanvision: not installed (pip install cleanvision; it does not pull torch)")
            cv = "not-installed"
        else:
            cs, cg = res
            crn, crx, cout = score(cg, originals, copies, n_near)
            print(
                f"cleanvision: {cs:.2f} s; recall near {crn:.3f}, exact {crx:.3f}; {cout} flagged outside"
            )
            cv = f"cleanvision_s={cs:.2f} cleanvision_recall_near={crn:.3f} cleanvision_recall_exact={crx:.3f}"
    missed = []
    if not args.smoke:
        if seconds > BAR_SECONDS:
            missed.append(f"time {seconds:.2f}s > {BAR_SECONDS}s")
        if min(rn, rx) < BAR_RECALL:
            missed.append(f"recall {min(rn, rx):.3f} < {BAR_RECALL}")
        if outside > BAR_FALSE * n:
            missed.append(f"{outside} false flags > {BAR_FALSE:.0%} of {n}")
    status = "FAIL " + "; ".join(missed) if missed else ("smoke" if args.smoke else "pass")
    print(
        f"RESULT near_duplicates n={n} seconds={seconds:.2f} recall_near={rn:.3f} recall_exact={rx:.3f} "
        f"false_flags={outside} {cv} {status}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Labels and token ids turned back into words a person can check.

Labels come as class ids ``(N,)``, one-hot or soft ``(N, K)`` rows, multi-label 0/1 rows, or
regression targets; token ids through a list, a dict (either direction) or any ``decode``
callable such as a tokenizer's. Padding is shown as padding, not as a word.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from recipe_widgets.engine.arrays import to_numpy
from recipe_widgets.engine.formatting import fmt

PAD_NAMES = ("<pad>", "[PAD]", "<PAD>", "[pad]")


def decode_labels(
    labels: Any, classes: Sequence[str] | None
) -> tuple[tuple[str, ...], str, np.ndarray | None]:
    """Label text per item, the label kind, and integer class ids (for range checks) or None."""
    if labels is None:
        return (), "none", None
    arr = to_numpy(labels)
    if np.iscomplexobj(arr):
        raise ValueError("labels cannot be complex")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    names = list(classes) if classes is not None else None

    def name(i: int) -> str:
        if i == -100:
            return "(ignored)"
        if names is not None and 0 <= i < len(names):
            return str(names[i])
        return str(i)

    if arr.ndim == 1 and arr.dtype.kind in "USO":  # names already: shown as given
        return tuple(str(v) for v in arr), "name", None
    if arr.ndim == 1:
        if arr.dtype.kind in "iub" or (
            arr.dtype.kind == "f"
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
            and names is not None
        ):
            ids = arr.astype(np.int64)
            return tuple(name(int(i)) for i in ids), "class", ids
        return tuple(fmt(v, 4) for v in arr), "value", None
    if arr.ndim == 2:
        finite = np.isfinite(arr).all()
        binary = finite and np.isin(arr, (0, 1)).all()
        sums = arr.sum(axis=1) if finite else None
        if binary and sums is not None and np.all(sums == 1):
            ids = arr.argmax(axis=1).astype(np.int64)
            return tuple(name(int(i)) for i in ids), "onehot", ids
        if binary:
            texts = tuple(
                ",".join(name(int(j)) for j in np.flatnonzero(row)) or "(none)" for row in arr
            )
            return texts, "multilabel", None
        if finite and np.all(arr >= 0) and sums is not None and np.allclose(sums, 1, atol=1e-3):
            ids = arr.argmax(axis=1).astype(np.int64)
            texts = tuple(f"{name(int(i))} ({arr[k, i]:.2f})" for k, i in enumerate(ids))
            return texts, "soft", ids
        return (
            tuple(
                " ".join(fmt(v) for v in row[:4]) + (" ..." if row.size > 4 else "") for row in arr
            ),
            "value",
            None,
        )
    raise ValueError(
        f"labels of shape {tuple(arr.shape)} are not understood; pass class ids (N,), one-hot "
        "or multi-label rows (N, K), or regression targets (N,)"
    )


def vocab_lookup(
    vocab: Any,
) -> tuple[Callable[[int], str] | None, Callable[[list[int]], str] | None, int | None]:
    """(id -> token, ids -> text, pad id found in the vocabulary) from a list, dict or callable."""
    if vocab is None:
        return None, None, None
    if callable(vocab) and not isinstance(vocab, (Mapping, Sequence)):
        return None, vocab, None
    decode_attr = getattr(vocab, "decode", None)
    if callable(decode_attr) and not isinstance(vocab, (Mapping, Sequence)):
        return None, decode_attr, getattr(vocab, "pad_token_id", None)
    if isinstance(vocab, Mapping):
        items = list(vocab.items())
        if items and isinstance(items[0][0], str):
            table = {int(i): str(t) for t, i in items}  # token -> id: invert
        else:
            table = {int(i): str(t) for i, t in items}
    elif isinstance(vocab, Sequence) and not isinstance(vocab, str):
        table = {i: str(t) for i, t in enumerate(vocab)}
    else:
        raise TypeError(
            f"vocab must be a list of tokens, a dict, or a decode callable; got {type(vocab).__name__}"
        )
    pad = next((i for i, t in sorted(table.items()) if t in PAD_NAMES), None)
    return (lambda i: table.get(i, f"<unk:{i}>")), None, pad


def token_texts(
    ids: np.ndarray, vocab: Any, pad_id: int | None
) -> tuple[tuple[str, ...], int, int | None]:
    """One text per row; trailing/leading padding collapsed to ``<pad>×k``. Also the vocab size."""
    lookup, decode_fn, found_pad = vocab_lookup(vocab)
    pad = pad_id if pad_id is not None else found_pad
    size = None
    if isinstance(vocab, Mapping):
        size = len(vocab)
    elif isinstance(vocab, Sequence) and not isinstance(vocab, str):
        size = len(vocab)
    texts = []
    for row in ids.tolist():
        keep = [i for i in row if i != pad] if pad is not None else row
        n_pad = len(row) - len(keep)
        if decode_fn is not None:
            body = str(decode_fn(keep))
        elif lookup is not None:
            body = " ".join(lookup(i) for i in keep)
        else:
            body = " ".join(str(i) for i in keep)
        texts.append(body + (f" <pad>×{n_pad}" if n_pad else ""))
    return tuple(texts), size or 0, pad

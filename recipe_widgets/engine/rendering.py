"""The one seam between engine results and their renderings: a registry by type.

Engine objects (``Report``, ``Finding``, ``DecodedBatch``, ``BeforeTheNet``) never import the
display layer. Their ``__str__`` and ``_repr_mimebundle_`` ask this registry for a renderer by
type and MIME type, walking the class's MRO; ``recipe_widgets.display`` registers its renderers
(by dotted class name, so registering imports neither torch nor the engine's heavy modules).

Who imports the display layer? The top-level package names it once, at import, with
``add_provider("recipe_widgets.display")``: importing ``recipe_widgets.engine`` always runs
``recipe_widgets/__init__.py`` first, so the name is there even when only the engine is used.
The first render that finds no renderer imports the providers (once), which register theirs.
So ``print(report)`` works in a plain script, a notebook shows HTML, and the engine holds only
module *names*, never an import of a layer above it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Renderer = Callable[[Any], str]

_renderers: dict[str, dict[str, Renderer]] = {}  # "module.QualName" -> mime -> renderer
_providers: list[str] = []  # modules that register renderers when imported
_imported: set[str] = set()


def type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type | str, mime: str, renderer: Renderer) -> None:
    """``renderer(obj) -> str`` draws instances of ``cls`` (a class or its dotted name) as ``mime``."""
    name = cls if isinstance(cls, str) else type_name(cls)
    _renderers.setdefault(name, {})[mime] = renderer


def add_provider(module: str) -> None:
    """Name a module to import, on the first render that finds no renderer, to register some."""
    if module not in _providers:
        _providers.append(module)


def _lookup(cls: type, mime: str) -> Renderer | None:
    for klass in cls.__mro__:
        renderer = _renderers.get(type_name(klass), {}).get(mime)
        if renderer is not None:
            return renderer
    return None


def render(obj: Any, mime: str = "text/plain") -> str | None:
    """``obj`` drawn as ``mime`` by its registered renderer, or ``None`` when there is none."""
    renderer = _lookup(type(obj), mime)
    if renderer is None:
        for module in [m for m in _providers if m not in _imported]:
            _imported.add(module)
            importlib.import_module(module)
        renderer = _lookup(type(obj), mime)
    return None if renderer is None else renderer(obj)


def mimebundle(obj: Any, mimes: tuple[str, ...] = ("text/plain", "text/html")) -> dict[str, str]:
    """What ``_repr_mimebundle_`` returns: every MIME type of ``mimes`` that has a renderer."""
    bundle = {}
    for mime in mimes:
        text = render(obj, mime)
        if text is not None:
            bundle[mime] = text
    if "text/plain" not in bundle:
        bundle["text/plain"] = repr(obj)
    return bundle

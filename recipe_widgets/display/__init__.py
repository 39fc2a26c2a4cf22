"""Pure functions from an engine result to text, HTML or an ``alt.Chart``. No state, no comms.

Modules here import altair lazily (only the chart builders need it), so rendering a report as
text stays cheap and works without the notebook extras.

Importing this package registers its renderers with ``engine.rendering``, the seam through
which engine objects print and show themselves without importing this layer. Classes are named
by their dotted path, so registering imports neither torch nor the engine modules defining them.
"""

from recipe_widgets.display._decode import (
    before_the_net_html,
    before_the_net_text,
    decoded_html,
    decoded_text,
)
from recipe_widgets.display._lr_find import lr_find_html, lr_find_text
from recipe_widgets.display._report import finding_html, finding_text, report_html, report_text
from recipe_widgets.engine import rendering

_RENDERERS = {
    "recipe_widgets.engine.results.Finding": {"text/plain": finding_text},
    "recipe_widgets.engine.results.Report": {"text/plain": report_text, "text/html": report_html},
    "recipe_widgets.engine.decode._api.DecodedBatch": {
        "text/plain": decoded_text,
        "text/html": decoded_html,
    },
    "recipe_widgets.engine.lr_find._api.LRFind": {
        "text/plain": lr_find_text,
        "text/html": lr_find_html,
    },
    "recipe_widgets.engine.decode._before_the_net.BeforeTheNet": {
        "text/plain": before_the_net_text,
        "text/html": before_the_net_html,
    },
}

for _name, _by_mime in _RENDERERS.items():
    for _mime, _renderer in _by_mime.items():
        rendering.register(_name, _mime, _renderer)

__all__ = ["finding_html", "finding_text", "report_html", "report_text"]

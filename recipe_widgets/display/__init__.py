"""Pure functions from an engine result to text, HTML or an ``alt.Chart``. No state, no comms.

Modules here import altair lazily (only the chart builders need it), so rendering a report as
text stays cheap and works without the notebook extras.
"""

from recipe_widgets.display._report import finding_html, finding_text, report_html, report_text

__all__ = ["finding_html", "finding_text", "report_html", "report_text"]

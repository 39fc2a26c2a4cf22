"""ipywidgets / anywidget composition: thin widgets whose behaviour calls the engine and display."""

from recipe_widgets.widgets._base import StaticFallbackMixin

__all__ = ["StaticFallbackMixin"]

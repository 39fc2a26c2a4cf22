"""Colours that follow the notebook's theme: JupyterLab's ``--jp-*`` CSS variables, then VS Code's
``--vscode-*``, then a light-theme hex value (nbviewer, GitHub and a saved file define neither).

Inline ``style`` attributes only: ``var()`` in a style attribute survives nbviewer and GitHub,
which strip ``<style>`` and ``<script>``. Under JupyterLab's dark theme the same HTML reads
light-on-dark with no code of ours running.
"""

from __future__ import annotations

# role: (JupyterLab variable, VS Code variable, fallback). Status text takes JupyterLab's
# "color0" shade: its "color1" orange and cyan read at 2.5:1 and 3.4:1 on the light theme's white,
# below what a person reads at a glance; color0 gives 3.8:1 or more on both themes.
_ROLES = {
    "muted": ("--jp-ui-font-color2", "--vscode-descriptionForeground", "#57606a"),
    "text": ("--jp-ui-font-color1", "--vscode-foreground", "#1f2328"),
    "border": ("--jp-border-color2", "--vscode-panel-border", "#d0d7de"),
    "rule": ("--jp-border-color1", "--vscode-editorRuler-foreground", "#999999"),
    "fail": ("--jp-error-color0", "--vscode-errorForeground", "#b42318"),
    "warn": ("--jp-warn-color0", "--vscode-editorWarning-foreground", "#8a5a00"),
    "info": ("--jp-info-color0", "--vscode-editorInfo-foreground", "#0b5cad"),
    "pass": ("--jp-success-color0", "--vscode-testing-iconPassed", "#1a7f37"),
    "skip": ("--jp-ui-font-color2", "--vscode-descriptionForeground", "#57606a"),
    "accent": ("--jp-brand-color1", "--vscode-textLink-foreground", "#0969da"),
}


def colour(role: str) -> str:
    """``var(--jp-…, var(--vscode-…, #hex))`` for a role such as ``"muted"`` or ``"fail"``."""
    jp, vscode, fallback = _ROLES[role]
    return f"var({jp}, var({vscode}, {fallback}))"

"""QR codes drawn on the server as inline SVG (segno): no image request, no script, any scale.

segno is imported on the first code drawn, not at import (cold start of the API function).
"""

from __future__ import annotations

from typing import Any


def svg(text: str, label: str) -> Any:
    """`text` as an inline SVG QR code (error correction M, the quiet zone included), marked
    safe for the templates. `label` names it for screen readers."""
    import segno  # lazily: see the module's docstring
    from markupsafe import Markup

    code = segno.make(text, error="m", micro=False)
    drawn = code.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="qr")
    # segno's own markup (paths and numbers only); the label is escaped.
    labelled = drawn.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(labelled)  # noqa: S704

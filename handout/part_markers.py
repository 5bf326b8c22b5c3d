"""A kept template block's filled text and the marker standing for it in a fill: shared by the filler and the parser, without Jinja."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

# A filled block handed to the document parser as this marker instead of its text, so the parser can use the
# blocks it already read from that text. The token is the process's own: a template cannot write a marker.
MARKER_TARGET = f"handout-part-{secrets.token_hex(8)}"


@dataclass
class Part:
    """A block's filled text, and the document blocks the parser read from it (once; None until then)."""

    text: str
    blocks: Any = None
    standalone: bool = True  # False once the parser found it is not whole elements at the top of the document

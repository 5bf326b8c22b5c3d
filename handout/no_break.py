"""Text a line must never end inside (a phone number): its spaces made no-break spaces, by templates and drawing alike."""

from __future__ import annotations


def nowrap(text: str) -> str:
    """`{{ brand.phone | nowrap }}`: no-break spaces, so a line never ends inside it (a split phone number cannot be dialled)."""
    return str(text).replace(" ", "\u00a0")

r"""Text from outside made safe to store and to show. Pure Python, imports nothing.

Every string that comes from the function or the network (error types and messages, reasons,
raw bodies, keys an answer names) passes through ``clean_text`` before anything keeps it:
``json.loads`` lets NUL and lone surrogates ("\ud800") through, PostgreSQL refuses NUL in text,
and no UTF-8 column takes a lone surrogate, so one such string used to fail a whole checkpoint.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters and DEL; the first keeps tab and newline (multi-line messages).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(text: str, limit: int) -> str:
    """At most ``limit`` characters of valid UTF-8 without NUL; NUL and lone surrogates become
    U+FFFD, and a cut text ends with an ellipsis.
    """
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if not text.isascii():
        text = _SURROGATE.sub(REPLACEMENT, text)
    return text


def visible(text: str, *, lines: bool = True) -> str:
    r"""``text`` with control characters (terminal escapes included) shown as ``\xNN``, so that
    what a function wrote is displayed, never interpreted by the terminal. ``lines=False``
    shows tab and newline too (a table cell stays on its line).
    """
    pattern = _CONTROL if lines else _CONTROL_ALL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)

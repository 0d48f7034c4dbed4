"""text.py: text from outside cut, cleaned for storage, and shown with its escapes visible."""

from __future__ import annotations

from dbt_lambda_sync.text import ELLIPSIS, REPLACEMENT, clean_text, visible


def test_clean_text_cuts_with_an_ellipsis() -> None:
    assert clean_text("abcdef", 10) == "abcdef"
    assert clean_text("abcdef", 4) == "abc" + ELLIPSIS
    assert len(clean_text("x" * 5000, 1000)) == 1000


def test_clean_text_replaces_nul_and_lone_surrogates() -> None:
    assert clean_text("a\x00b", 10) == f"a{REPLACEMENT}b"
    assert clean_text("a\ud800b", 10) == f"a{REPLACEMENT}b"
    assert clean_text("ünï ✓\tok\n", 20) == "ünï ✓\tok\n"  # everything else is kept


def test_visible_shows_control_characters_as_escapes() -> None:
    assert visible("red \x1b[31m!\x07") == "red \\x1b[31m!\\x07"
    assert visible("a\tb\nc") == "a\tb\nc"  # multi-line messages keep their lines
    assert visible("a\tb\nc", lines=False) == "a\\x09b\\x0ac"
    assert visible("\x7f\x9f ünï") == "\\x7f\\x9f ünï"

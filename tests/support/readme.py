"""The README's examples, as tests run them: the literal blocks after an rST comment marker.

README.rst marks an example it wants run with a comment line (``.. redis-token-store-example``);
the example is the literal blocks (a paragraph ending in ``::``, then an indented block) after
it. A comment renders as nothing, on PyPI and elsewhere.

Tests against an installed wheel run from a copy of ``tests/`` with no README beside the
package: :func:`readme_examples` skips there, and fails where the README lost the marker.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Final, List

import pytest

import soundcloud

__all__ = ["README", "literal_blocks_after", "readme_examples"]

README: Final = Path(soundcloud.__file__).resolve().parent.parent / "README.rst"


def literal_blocks_after(text: str, marker: str) -> List[str]:
    """The literal blocks (``::`` then an indented block) that follow ``marker``, dedented."""
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if line.strip() == marker), None)
    if start is None:
        return []
    blocks: List[str] = []
    n = start + 1
    while n < len(lines):
        line = lines[n]
        n += 1
        if not line.rstrip().endswith("::"):
            continue
        indent = len(line) - len(line.lstrip())
        block: List[str] = []
        while n < len(lines) and (not lines[n].strip() or len(lines[n]) - len(lines[n].lstrip()) > indent):
            block.append(lines[n])
            n += 1
        blocks.append(textwrap.dedent("\n".join(block)).strip("\n") + "\n")
    return blocks


def readme_examples(marker: str) -> List[str]:
    """The literal blocks after ``marker`` in README.rst (skips where the README is not)."""
    if not README.is_file():
        pytest.skip("the README is not beside the package (an installed wheel)")
    blocks = literal_blocks_after(README.read_text(encoding="utf-8"), marker)
    assert blocks, f"README.rst has no literal block after a {marker!r} line"
    return blocks

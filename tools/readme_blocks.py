"""Print the commands of a named literal block of README.rst, so CI runs what the README shows.

    python3 tools/readme_blocks.py quick-start     # the Quick start commands, one a line
    python3 tools/readme_blocks.py development     # the test command, exactly as CI runs it
    python3 tools/readme_blocks.py --list          # the names of the marked blocks

A block is marked by an reStructuredText comment line right before the paragraph that
introduces it (a comment renders as nothing, on PyPI and elsewhere)::

    .. ci-block: quick-start

    ::

        python3 -m venv .venv

The paragraph may be a bare ``::`` or any text ending in ``::`` (a list item's too); the
block is the indented text after it, dedented, up to the first line indented no deeper than
that paragraph's text.
``.ci/run`` runs the ``development`` block as its test step and the ``quick-start`` block
in a fresh clone, and ``tests/packaging/test_readme_blocks.py`` checks both, so the README
is the one place these commands are written.

A missing name, a name marked twice, or a marker with no literal block after it is an
error (exit status 1) naming the README and the blocks it has. Standard library only, and
Python 3.9 up: CI runs it with whatever ``python3`` the machine has.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

__all__ = ["MARKER", "README", "BlockError", "block", "blocks", "main"]

README = Path(__file__).resolve().parent.parent / "README.rst"
# ``.. ci-block: NAME``: one colon, so docutils reads a comment, not a directive.
MARKER = re.compile(r"^\.\. ci-block: *(?P<name>[a-z0-9][a-z0-9-]*) *$")


class BlockError(Exception):
    """The README has no such block, has it twice, or a marker without a literal block."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content_indent(line: str) -> int:
    """Where a paragraph's text starts: after a list item's bullet or number too."""
    match = re.match(r" *(?:[*+-] +|(?:\d+|#)[.)] +)?", line)
    assert match is not None  # the pattern matches every line
    return match.end()


def _literal_after(lines: List[str], start: int, where: str) -> str:
    """The literal block introduced by the paragraph at or after ``lines[start]``."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    # The introducing paragraph: its lines up to the one ending in "::".
    while index < len(lines) and lines[index].strip() and not lines[index].rstrip().endswith("::"):
        index += 1
    if index >= len(lines) or not lines[index].strip():
        raise BlockError(f"{where} is not followed by a paragraph ending in '::' (a literal block)")
    paragraph_indent = _content_indent(lines[index])
    body: List[str] = []
    for line in lines[index + 1 :]:
        if line.strip() and _indent(line) <= paragraph_indent:
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    if not body:
        raise BlockError(f"{where} is followed by '::' but no indented literal block")
    depth = min(_indent(line) for line in body if line.strip())
    return "\n".join(line[depth:].rstrip() for line in body) + "\n"


def blocks(text: str, *, source: str = "README.rst") -> Dict[str, str]:
    """Every marked block of an reStructuredText document, by name, in document order."""
    lines = text.splitlines()
    found: Dict[str, str] = {}
    for number, line in enumerate(lines):
        match = MARKER.match(line)
        if match is None:
            continue
        name = match.group("name")
        where = f"{source}:{number + 1}: '.. ci-block: {name}'"
        if name in found:
            raise BlockError(f"{where} marks a second block of that name")
        found[name] = _literal_after(lines, number + 1, where)
    return found


def block(text: str, name: str, *, source: str = "README.rst") -> str:
    """The commands of the block marked ``.. ci-block: NAME``, one a line, ending in a newline."""
    found = blocks(text, source=source)
    if name not in found:
        have = ", ".join(found) or "none"
        raise BlockError(f"{source} has no block marked '.. ci-block: {name}' (marked blocks: {have})")
    return found[name]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="the block's name, as in '.. ci-block: NAME'")
    parser.add_argument("--list", action="store_true", help="print the names of the marked blocks")
    parser.add_argument("--readme", type=Path, default=README, help="default: the README.rst beside tools/")
    args = parser.parse_args(argv)
    if args.list == (args.name is not None):
        parser.error("give a block's name or --list")
    try:
        text = args.readme.read_text(encoding="utf-8")
        if args.list:
            sys.stdout.write("".join(f"{name}\n" for name in blocks(text, source=str(args.readme))))
        else:
            sys.stdout.write(block(text, args.name, source=str(args.readme)))
    except (BlockError, OSError) as error:
        print(f"readme_blocks: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

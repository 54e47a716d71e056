"""Request parameters from the command line: ``name=value``, ``a.b=x``, ``l[]=x``, ``f@path``.

:func:`param_type` is the argparse type of one argument; :func:`parse_params` builds the
parameters of a request from them (the "parameters" part of ``soundcloud --help``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

__all__ = ["Param", "param_type", "parse_params"]


# One parsed command-line parameter: (name, value, is_file).
Param = Tuple[str, str, bool]


def param_type(text: str) -> Param:
    """argparse type of a ``name=value`` or ``name@path`` argument."""
    equals = text.find("=")
    at = text.find("@")
    if at > 0 and (equals < 0 or at < equals):
        return (text[:at], text[at + 1 :], True)
    if equals > 0:
        return (text[:equals], text[equals + 1 :], False)
    raise argparse.ArgumentTypeError(f"expected name=value (or name@file), not {text!r}")


def parse_params(params: Sequence[Param], opener: Optional[Callable[[str], Any]] = None) -> Dict[str, Any]:
    """Build request parameters from parsed arguments; ValueError explains a conflict.

    ``a.b=x`` nests (``{'a': {'b': 'x'}}``), ``a[]=x a[]=y`` makes a list, any other name
    (``track[title]``) is kept as given. ``opener(path)`` opens files (``name@path``).
    """
    result: Dict[str, Any] = {}
    for name, value, is_file in params:
        parts = name.split(".")
        if any(not part for part in parts):
            raise ValueError(f"bad parameter name {name!r}")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{name!r}: {part!r} is given both as a value and as an object")
            node = child
        last = parts[-1]
        item: Any = value
        if is_file:
            if opener is None:
                raise ValueError(f"{name}@{value}: files can only be sent with post and put")
            item = opener(value)
        if last.endswith("[]") and len(last) > 2:
            values = node.setdefault(last[:-2], [])
            if not isinstance(values, list):
                raise ValueError(f"{name!r}: {last[:-2]!r} is given both as a list and otherwise")
            values.append(item)
        elif last in node:
            raise ValueError(f"parameter {name!r} is given more than once (use {last}[]=... for a list)")
        else:
            node[last] = item
    return result

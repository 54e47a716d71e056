"""Loading the code generators of tools/ in tests: the operation table, the models, the
namespaces. Used by the tests that prove each generated file current (tests/unit/,
tests/spec/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Optional

import pytest

__all__ = ["ROOT", "SPEC_DIR", "load_generator", "load_spec"]

ROOT = Path(__file__).resolve().parent.parent.parent
SPEC_DIR = ROOT / "spec"


def load_generator(tool: str, generated: Path, package_file: Optional[str] = None) -> ModuleType:
    """``tools/<tool>.py`` as a module, or the test skipped when it cannot compare: no tools
    and spec beside the tests (an installed wheel's run), the package under test is not the
    source tree's (``package_file``, when given, must be ``generated`` itself), or no PyYAML."""
    source = ROOT / "tools" / f"{tool}.py"
    if not source.is_file() or not (SPEC_DIR / "soundcloud-api.yaml").is_file():
        pytest.skip(f"no tools/{tool}.py and spec/ beside the tests (an installed wheel's test run)")
    if not generated.is_file() or (
        package_file is not None and Path(package_file).resolve() != generated.resolve()
    ):
        pytest.skip("the package under test is not the source tree's: nothing to compare with")
    if importlib.util.find_spec("yaml") is None:
        pytest.skip("PyYAML is not installed (requirements.txt): the generator cannot read the spec")
    spec = importlib.util.spec_from_file_location(tool, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_spec() -> Dict[str, Any]:
    """spec/soundcloud-api.yaml, parsed (PyYAML)."""
    import yaml

    loaded: Dict[str, Any] = yaml.safe_load((SPEC_DIR / "soundcloud-api.yaml").read_text(encoding="utf-8"))
    return loaded

"""The README's pytest plugin example, as a user's project runs it: every one of its tests passes.

The example is the literal block after the comment ``.. pytest-plugin-example`` in README.rst
(section "Testing your own code"): a test file that imports ``latest_titles(client, n)`` from
the user's ``myapp``. Here ``myapp.py`` is written the obvious way, and the example runs with
``pytester`` in a project where the package is installed (the plugin comes from its
``pytest11`` entry point: tests/support/plugin_project.py). Against an installed wheel, whose
tests/ has no README beside it, the test skips.
"""

from __future__ import annotations

import pytest

import soundcloud.client
import soundcloud.testing.fake
import soundcloud.testing.pytest_plugin

from support.plugin_project import STRICT, installed_plugin_project
from support.readme import readme_examples

pytest_plugins = ["pytester"]

MARKER = ".. pytest-plugin-example"
# Imported before pytester snapshots sys.modules, so that every inner run shares them: pytester
# drops the modules an inner run imported first, while `soundcloud` keeps the names it handed
# out, and a later import would make second copies of their classes. `import soundcloud` is
# lazy: the client (and with it the layers below) is imported here by name.
SHARED_MODULES = (soundcloud.client, soundcloud.testing.fake, soundcloud.testing.pytest_plugin)

# The user's code under test, as the example's import line describes it.
MYAPP = '''
def latest_titles(client, n):
    """The titles of the n latest tracks of the logged-in user, newest first."""
    return [track.title for track in client.get("/me/tracks", limit=n)]
'''


def test_every_test_of_the_readme_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    example = readme_examples(MARKER)[0]
    assert "from myapp import latest_titles" in example
    project = installed_plugin_project(pytester, monkeypatch)
    project.makepyfile(myapp=MYAPP)
    project.mkdir("tests")
    (project.path / "tests" / "test_titles.py").write_text(example, encoding="utf-8")
    project.syspathinsert()  # `import myapp` from tests/, as from an installed or src-layout app
    tests = example.count("\ndef test_")
    assert tests > 0
    project.runpytest(*STRICT, "tests").assert_outcomes(passed=tests)

"""The documentation: the site builds without a warning (a broken link or a stale API name fails),
and the README stays a front door whose links lead somewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from predictor.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def test_readme_is_a_front_door_whose_links_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links, "the README links into the documentation"
    missing = [link for link in links if not link.startswith("http") and not (REPO_ROOT / link).exists()]
    assert not missing


def test_site_builds_strictly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("Predictor", "ConductivityRegressor", "WindowRegressor", "HalideFeaturizer", "MagpieFeaturizer"):
        assert name in api
    assert "Parameters" in api  # the docstrings themselves, not only the names

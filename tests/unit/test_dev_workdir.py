"""`make dev` opens on the demo's folder once `make demo` has run, and on a fresh one otherwise."""

from pathlib import Path

import pytest

from convo_intel import dev


def test_dev_uses_the_demo_folder_only_once_the_demo_has_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert dev.default_workdir() == Path("var/dev")
    (tmp_path / "var" / "demo").mkdir(parents=True)  # a demo folder without an instance: not the demo's data
    assert dev.default_workdir() == Path("var/dev")
    (tmp_path / "var" / "demo" / "dagster_home").mkdir()
    assert dev.default_workdir() == Path("var/demo")

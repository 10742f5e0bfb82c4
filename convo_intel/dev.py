"""`make dev`: the sandbox and `dg dev` (the Dagster UI and daemon) together, sharing one environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from convo_intel.demo import prepare_environment
from orchestration.settings import PROJECT_ROOT

DEMO_WORKDIR = Path("var/demo")
DEV_WORKDIR = Path("var/dev")


def default_workdir() -> Path:
    """The demo's folder once `make demo` has run (its runs, warehouse and sandbox state), else a fresh dev one.

    `make dev` after `make demo` then opens on the demo's data and run history instead of an empty instance.
    """
    return DEMO_WORKDIR if (DEMO_WORKDIR / "dagster_home").is_dir() else DEV_WORKDIR


def run_dev(workdir: Path | None = None, port: int = 3000, sandbox_port: int = 8765) -> int:
    from sandbox.server import sandbox_process

    workdir = workdir or default_workdir()
    if workdir == DEMO_WORKDIR:
        print(
            f"using the demo's runs, warehouse and sandbox in {workdir} (pass --workdir var/dev for a fresh one)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    drop = workdir / "drop"
    (drop / "media").mkdir(parents=True, exist_ok=True)
    env_extra = {"SANDBOX_MEDIA_DIR": str((drop / "media").resolve())}
    with sandbox_process(workdir / "sandbox", port=sandbox_port, env=env_extra) as base_url:
        prepare_environment(workdir, base_url)
        print(
            f"sandbox on {base_url}; Dagster UI on http://127.0.0.1:{port}  (Ctrl-C stops both)", flush=True
        )
        print(f"drop recordings into {drop.resolve()}/manifests (see docs/drop-folder.md)", flush=True)
        # `dg dev` loads the project as pyproject.toml's [tool.dg] declares it (location `convo_intel`), with
        # this interpreter's venv named as the active one so dg neither warns nor looks for another.
        cmd = [str(Path(sys.executable).parent / "dg"), "dev", "--host", "127.0.0.1"]
        # SIGTERM (a supervisor, `timeout`) must stop dagster dev too, not orphan it: treat it like Ctrl-C.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        env = {**os.environ, "VIRTUAL_ENV": sys.prefix}
        dagster = subprocess.Popen([*cmd, "--port", str(port)], env=env, cwd=PROJECT_ROOT)
        try:
            return dagster.wait()
        except KeyboardInterrupt:
            dagster.send_signal(signal.SIGINT)  # dagster dev shuts its webserver and daemon down on SIGINT
            try:
                return dagster.wait(30)
            except subprocess.TimeoutExpired:
                dagster.kill()
                return 1


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

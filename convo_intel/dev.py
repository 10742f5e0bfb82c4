"""`make dev`: the sandbox and `dagster dev` together, sharing one environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from convo_intel.demo import prepare_environment


def run_dev(workdir: Path, port: int = 3000, sandbox_port: int = 8765) -> int:
    from sandbox.server import sandbox_process

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
        cmd = [sys.executable, "-m", "dagster", "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1"]
        try:
            return subprocess.call([*cmd, "-p", str(port)], env=os.environ.copy())
        except KeyboardInterrupt:
            return 0

"""Serving ASGI apps on loopback: in a background thread (tests, the demo) or as a child process (benchmarks).

``ServedApp`` runs any ASGI app under uvicorn on a free port and exposes its base URL; it is reused by the
sandbox, the webhook receiver and the tests so that every test talks real HTTP over loopback.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn


class ServedApp:
    """An ASGI app served by uvicorn in a daemon thread. Use as a context manager or call start()/stop()."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self._config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> ServedApp:
        self._thread = threading.Thread(target=self._server.run, name="served-app", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("server thread exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start in time")
            time.sleep(0.01)
        sock = self._server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def sandbox_process(
    data_dir: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> Iterator[str]:
    """Run ``convo-intel sandbox`` as a child process; yields its base URL (vendors under /symbl, /semarize, ...)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "convo_intel.cli", "sandbox", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir), *(extra_args or [])]
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with code {proc.returncode} during start-up")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("sandbox did not answer /health within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

"""The `convo-intel` command: sandbox server, webhook receiver, demo corpus, demo run, dev environment."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox.app import build_app
    from sandbox.config import SandboxConfig

    config = SandboxConfig.from_env(data_dir=args.data_dir)
    config.ensure_data_dir()
    print(f"convo-intel sandbox on http://{args.host}:{args.port} (data in {config.data_dir})", flush=True)
    uvicorn.run(build_app(config), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from sandbox.demo_data import DemoDataError, generate

    try:
        summary = generate(
            out_dir=Path(args.out),
            seed=args.seed,
            recordings=args.recordings,
            media_base_url=args.media_base_url,
        )
    except DemoDataError as exc:
        print(f"convo-intel demo-data: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def _cmd_webhooks(args: argparse.Namespace) -> int:
    from orchestration.defs.webhooks.app import serve

    serve(host=args.host, port=args.port)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from convo_intel.demo import run_demo

    return run_demo(workdir=Path(args.workdir), recordings=args.recordings, seed=args.seed)


def _cmd_dev(args: argparse.Namespace) -> int:
    from convo_intel.dev import run_dev

    workdir = Path(args.workdir) if args.workdir else None
    return run_dev(workdir=workdir, port=args.port, sandbox_port=args.sandbox_port)


def _cmd_sql(args: argparse.Namespace) -> int:
    from convo_intel.sql import run_sql_shell

    return run_sql_shell(path=args.path, command=args.command_sql)


def _cmd_live(args: argparse.Namespace) -> int:
    from convo_intel.live import run_live

    return run_live(
        Path(args.file),
        speed=args.speed,
        manifest_path=Path(args.manifest) if args.manifest else None,
        encoding=args.encoding,
        sample_rate=args.sample_rate,
        call_id=args.call_id,
    )


def _cmd_live_bridge(args: argparse.Namespace) -> int:
    from orchestration.defs.streaming.twilio_bridge import serve

    serve(host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convo-intel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sandbox", help="serve the local Symbl / Semarize / Nebula stand-ins")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--data-dir", default=os.environ.get("SANDBOX_DATA_DIR", "var/sandbox"))
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=_cmd_sandbox)

    p = sub.add_parser("demo-data", help="generate a deterministic demo corpus (manifests + media)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--recordings", type=int, default=60)
    p.add_argument(
        "--media-base-url", default=None, help="base URL that serves OUT/media, for *_url manifests"
    )
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser(
        "webhooks", help="serve the webhook receiver (Symbl job callbacks, signed recording-platform events)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8780)
    p.set_defaults(func=_cmd_webhooks)

    p = sub.add_parser("demo", help="sandbox + demo corpus + every partition + dbt, then print the scorecard")
    p.add_argument("--workdir", default="var/demo")
    p.add_argument("--recordings", type=int, default=60)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("dev", help="start the sandbox and `dagster dev` together")
    p.add_argument("--workdir", default=None, help="default: var/demo once `make demo` has run, else var/dev")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--sandbox-port", type=int, default=8765)
    p.set_defaults(func=_cmd_dev)

    p = sub.add_parser("sql", help="a read-only SQL shell on the analysts' copy of the warehouse")
    p.add_argument("path", nargs="?", default=None, help="DuckDB file (default: the analyst copy)")
    p.add_argument("-c", "--command", dest="command_sql", default=None, help="run one SQL command and exit")
    p.set_defaults(func=_cmd_sql)

    p = sub.add_parser("live", help="play a recording (or a manifest's media) into Symbl's Streaming API")
    p.add_argument("file", help="media file, or a drop-folder manifest")
    p.add_argument("--speed", type=float, default=1.0, help="times real time")
    p.add_argument("--manifest", default=None, help="the call's manifest fields (when FILE is media)")
    p.add_argument("--encoding", choices=["LINEAR16", "MULAW"], default="LINEAR16")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--call-id", default=None, help="default: the manifest's recording_id or the file name")
    p.set_defaults(func=_cmd_live)

    p = sub.add_parser("live-bridge", help="serve the Twilio Media Streams bridge to Symbl's Streaming API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8790)
    p.set_defaults(func=_cmd_live_bridge)
    return parser


def main(argv: list[str] | None = None) -> int:
    # No telemetry from anything this command starts (dbt, Dagster), whichever way it is launched: set by the
    # entry point for its child processes, not as a side effect of importing this module.
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

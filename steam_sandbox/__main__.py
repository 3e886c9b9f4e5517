"""`python -m steam_sandbox`: run the Steam sandbox, an HTTP emulator of the Steam
endpoints Astro uses (loopback only).

The bot's credentials come from the same environment variables as Astro's settings
(STEAM_USERNAME, STEAM_PASSWORD, ...) in sandbox mode, else the sandbox defaults, so
the gateway and the sandbox agree. It needs no database: its state is on disk.
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from .account import BotAccount
from .server import check_loopback, data_root, serve
from .state.config import parse_config_arguments


def main(argv=None) -> None:
    default_port = urlsplit(os.environ.get("STEAM_SANDBOX_URL") or "http://127.0.0.1:8765").port or 8765
    parser = argparse.ArgumentParser(prog="python -m steam_sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=default_port,
        help=f"port (default {default_port}, from STEAM_SANDBOX_URL; 0 picks a free one, see --ready-file)",
    )
    parser.add_argument(
        "--state-dir", default=os.environ.get("STEAM_SANDBOX_STATE_DIR") or str(data_root() / "sandbox"),
        help="where the state is kept (default STEAM_SANDBOX_STATE_DIR, else .astro/sandbox)",
    )
    parser.add_argument("--seed", action="store_true", help="load the demo seed inventory and users when the state is empty")
    parser.add_argument("--reset", action="store_true", help="start from an empty state")
    parser.add_argument("--ready-file", help="write the URL to this file once listening")
    parser.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE",
        help="start with this config switch (VALUE as JSON: true, 0, \"send\"); it wins over the saved "
        "config and is what a reset returns to (repeatable; keys in docs/sandbox.md)",
    )
    parser.add_argument(
        "--allow-non-loopback", action="store_true",
        help="listen on a non-loopback address (a private container network only: the control API "
        "shows the bot's credentials and lets anyone reshape the world)",
    )
    args = parser.parse_args(argv)
    try:
        config = parse_config_arguments(args.config)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.allow_non_loopback:
        try:
            check_loopback(args.host)
        except ValueError as exc:
            parser.error(str(exc))
    serve(
        state_dir=args.state_dir, host=args.host, port=args.port, bot=BotAccount.from_env(),
        load_seed=args.seed, reset=args.reset, ready_file=args.ready_file,
        allow_non_loopback=args.allow_non_loopback, config=config,
    )


if __name__ == "__main__":
    main()

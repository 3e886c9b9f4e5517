"""`python -m astro.steam.sandbox`: the sandbox without Django (credentials from the
same environment variables as Django settings, else the sandbox defaults)."""

from __future__ import annotations

import argparse
import os

from astro import embedded

from .account import BotAccount
from .server import serve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m astro.steam.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (see --ready-file)")
    parser.add_argument(
        "--state-dir", default=os.environ.get("STEAM_SANDBOX_STATE_DIR") or str(embedded.data_root() / "sandbox")
    )
    parser.add_argument("--seed", action="store_true", help="load the demo seed if the state is empty")
    parser.add_argument("--reset", action="store_true", help="start from an empty state")
    parser.add_argument("--ready-file", help="write the URL here once listening")
    args = parser.parse_args(argv)
    serve(
        state_dir=args.state_dir, host=args.host, port=args.port, bot=BotAccount.from_env(),
        load_seed=args.seed, reset=args.reset, ready_file=args.ready_file,
    )


if __name__ == "__main__":
    main()

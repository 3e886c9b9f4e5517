"""The sandbox's bot account.

These are known, fake credentials: they exist only inside the sandbox and are the
defaults Astro's settings use when STEAM_MODE=sandbox. `python -m steam_sandbox`
takes them from the same environment variables as those settings (`from_env`), so
the gateway and the sandbox always agree on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

STEAMID64_BASE = 76561197960265728

BOT_STEAM_ID = 76561198080179568
BOT_USERNAME = "astro_sandbox_bot"
BOT_PASSWORD = "sandbox-password"
BOT_SHARED_SECRET = "c2FuZGJveC1zaGFyZWQtc2VjcmV0LTAwMA=="
BOT_IDENTITY_SECRET = "c2FuZGJveC1pZGVudGl0eS1zZWNyZXQtMDA="
BOT_API_KEY = "0123456789ABCDEF0123456789ABCDEF"
BOT_PERSONA_NAME = "Astro Sandbox Bot"


@dataclass(frozen=True)
class BotAccount:
    steam_id: int = BOT_STEAM_ID
    username: str = BOT_USERNAME
    password: str = BOT_PASSWORD
    shared_secret: str = BOT_SHARED_SECRET
    identity_secret: str = BOT_IDENTITY_SECRET
    api_key: str = BOT_API_KEY
    persona_name: str = BOT_PERSONA_NAME

    @property
    def account_id(self) -> int:
        return self.steam_id - STEAMID64_BASE

    @classmethod
    def from_env(cls) -> "BotAccount":
        """The same variable names as Django settings, for `python -m steam_sandbox`.

        Only in sandbox mode (decided like Astro's settings do): live credentials
        never enter the sandbox, whose control API shows the bot's credentials."""
        mode = os.environ.get("STEAM_MODE") or ("live" if os.environ.get("STEAM_USERNAME") else "sandbox")
        if mode != "sandbox":
            return cls()
        return cls(
            username=os.environ.get("STEAM_USERNAME") or BOT_USERNAME,
            password=os.environ.get("STEAM_PASSWORD") or BOT_PASSWORD,
            shared_secret=os.environ.get("STEAM_SHARED_SECRET") or BOT_SHARED_SECRET,
            identity_secret=os.environ.get("STEAM_IDENTITY_SECRET") or BOT_IDENTITY_SECRET,
            api_key=os.environ.get("STEAM_API_KEY") or BOT_API_KEY,
        )

    def env(self) -> dict[str, str]:
        """Environment for a child sandbox process (see `from_env`)."""
        return {
            "STEAM_MODE": "sandbox",
            "STEAM_USERNAME": self.username,
            "STEAM_PASSWORD": self.password,
            "STEAM_SHARED_SECRET": self.shared_secret,
            "STEAM_IDENTITY_SECRET": self.identity_secret,
            "STEAM_API_KEY": self.api_key,
        }


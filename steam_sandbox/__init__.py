"""The Steam sandbox: an HTTP emulator of every Steam endpoint Astro uses.

It is a plain WSGI app (no Django, no database) that routes on the Host header, so
the gateway's transport adapter can forward steamcommunity.com / api.steampowered.com
/ login.steampowered.com / ... requests to it unchanged and steampy's whole code path,
login included, runs against it. A control API under /sandbox/ shapes its world
(inventories, users and their behaviour, offers, faults). See docs/sandbox.md.

Run it with `python -m steam_sandbox`.
"""

from .account import BOT_STEAM_ID, BotAccount
from .server import SandboxApp, SandboxServer, make_server, serve
from .state import SandboxState

__all__ = ["BOT_STEAM_ID", "BotAccount", "SandboxApp", "SandboxServer", "SandboxState", "make_server", "serve"]

"""The sandbox's world: users, inventories, trade offers, trades, confirmations, login
sessions, prices and faults, one module per concern behind the `SandboxState` facade
(facade.py tells how they fit), and their persistence."""

from .facade import SandboxState
from .persistence import Persister

__all__ = ["Persister", "SandboxState"]

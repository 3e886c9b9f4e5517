"""Signals the item pool sends, for the apps above it that must act on its changes.

`items` may not import those apps (the layers in .importlinter); they connect
receivers to these signals in their AppConfig.ready().
"""

from django.dispatch import Signal

# A trade URL was set or changed. Sent once the transaction that stored it has
# committed (a receiver never sees a URL that rolls back), with `steam_id=<int>`
# and `external_system=<slug>` for a system's own URL, or `external_system=None`
# for the operator's (users.trade_url); a receiver that raises is logged and does
# not undo the change.
trade_url_set = Signal()

"""Signals the item pool sends, for the apps above it that must act on its changes.

`items` may not import those apps (the layers in .importlinter); they connect
receivers to these signals in their AppConfig.ready().
"""

from django.dispatch import Signal

# A Steam user's trade URL was set or changed. Sent once the transaction that stored
# it has committed (a receiver never sees a URL that rolls back), with
# `steam_id=<int>`; a receiver that raises is logged and does not undo the change.
trade_url_set = Signal()

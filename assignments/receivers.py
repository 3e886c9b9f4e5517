"""Receivers of the item pool's signals (items/signals.py), connected in AssignmentsConfig.ready()."""

from __future__ import annotations

from assignments.delivery import delivery_resume_for_user


def resume_deliveries_on_trade_url(sender, *, steam_id: int, **kwargs) -> int:
    """A user's trade URL was set (the transaction has committed): the deliveries that
    were waiting for one start again. Returns how many."""
    return delivery_resume_for_user(steam_id=steam_id)

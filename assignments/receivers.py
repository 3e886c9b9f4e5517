"""Receivers of the item pool's signals (items/signals.py), connected in AssignmentsConfig.ready()."""

from __future__ import annotations

from assignments.delivery import delivery_resume_for_user


def resume_deliveries_on_trade_url(sender, *, steam_id: int, external_system: str | None = None, **kwargs) -> int:
    """A trade URL was set (the transaction has committed): the deliveries that were
    waiting for it start again, those of the system that set it (or, for the
    operator's URL, of the systems without one of their own). Returns how many."""
    return delivery_resume_for_user(steam_id=steam_id, external_system=external_system)

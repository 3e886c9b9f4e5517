"""The delivery engine: assignments become Steam trade offers, followed to the end.

Guarantees
----------
- **One offer per attempt, one live offer per assignment.** An attempt is claimed
  with a conditional UPDATE in a short transaction and recorded (number, tag)
  before Steam is called. Every offer's message carries the attempt's tag
  (`astro:<assignment uuid>:<attempt>`); before any send we look for a tagged
  offer of this assignment that we have not recorded yet, and adopt it instead
  of sending again. That covers the send that timed out after Steam created the
  offer, a worker killed mid-send, and a redelivered task message.
- **No transaction is open while Steam answers.** Claim -> commit -> call Steam
  -> record the outcome in a new transaction that re-checks the claim (the
  assignment still in the state we left it, same attempt, same offer id).
- **Every transition writes its audit event in the same transaction** and leaves
  `status_reason` (a stable code) and, on trouble, `delivery_error_message`.
- **What Steam says wins.** A cancel or resend that races the user's accept ends
  as delivered, and says so.

Assignment states used here (status / status_reason):

    pending     (none)                      due now
    pending     trade_url_required          waits for a trade URL (delivery_resume_for_user)
    pending     trade_url_invalid           the stored URL was refused; waits for a new one
    pending     items_not_tradable          waits until the items' tradable_after
    pending     escrow_hold                 the user's trade hold is too long; rechecked, then failed
    pending     steam_unavailable           the hold could not be read before the first send
    pending     offer_limit                 Steam's pending-offer limit (25); retry at next_attempt_at
    pending     trade_failed                the accepted trade failed before completing; retry
    pending     offer_expired / offer_cancelled / offer_countered /
                offer_cancelled_by_second_factor / offer_invalid / offer_timed_out
                                            the last offer ended undelivered; retry at next_attempt_at
    processing  sending                     a worker holds the attempt (lease: DELIVERY_STUCK_AFTER_SECONDS)
    processing  cancelling                  a cancel holds it while it looks on Steam (resumed as a cancel)
    processing  steam_unavailable           Steam failed the send; retried at next_attempt_at
    processing  send_outcome_unknown        the send may have created the offer; looked for again at next_attempt_at
    processing  awaiting_confirmation       offer created, mobile confirmation pending
    processing  awaiting_acceptance         offer active, waiting for the user
    processing  escrow                      accepted into escrow; Steam holds the items
    delivered   (none)
    failed      declined / invalid_items / reverted / attempts_exhausted /
                steam_rejected / items_unavailable / escrow_hold
    cancelled   (none)

An assignment goes back to `pending` only when no live offer of it can exist
(its last offer is known to have ended). Anything that may have reached Steam
stays `processing`, so a cancel is always delegated here and looks on Steam.

The phases, one module each (each imports only those above it in this list):

    records      attempts, events, waits, releasing items, small shared helpers
    listing      the bot's one shared GetTradeOffers listing; the adoption rule
    trades       the trade behind an accepted offer; items following new asset ids
    transitions  apply an offer's state: delivered, failed, retried, invalid items,
                 reverted, cancelled; confirming (in batches) and cancelling our offers
    holds        the partner's trade hold, read before the first send
    send         claim an attempt, look for (adopt) our tagged offer or send one,
                 record it, confirm it
    poll         follow offers (adaptive), confirm in batches, watch for reverts,
                 cancel stray offers of ours
    sweep        start what is due (retries, waits, lost work, interrupted cancels)
    operator     cancel, retry, resend, check now, resume on a new trade URL

This package exports the engine's public API; callers import it from here.
"""

from assignments.delivery.operator import (
    DeliveryRefused,
    DeliverySteamUnavailable,
    delivery_cancel,
    delivery_cancel_resume,
    delivery_check_now,
    delivery_resend,
    delivery_resume_for_user,
    delivery_retry,
)
from assignments.delivery.poll import delivery_poll, delivery_poll_tick
from assignments.delivery.records import CANCEL_TASK, DELIVER_TASK, SYSTEM, WORKER, attempt_tag, parse_tag
from assignments.delivery.send import DeliveryRun, delivery_run
from assignments.delivery.sweep import SWEEP_INTERVAL_SECONDS, delivery_sweep
from assignments.delivery.transitions import apply_offer_state, max_attempts_for, settle_cancelled

__all__ = [
    "CANCEL_TASK",
    "DELIVER_TASK",
    "SWEEP_INTERVAL_SECONDS",
    "SYSTEM",
    "WORKER",
    "DeliveryRefused",
    "DeliveryRun",
    "DeliverySteamUnavailable",
    "apply_offer_state",
    "attempt_tag",
    "delivery_cancel",
    "delivery_cancel_resume",
    "delivery_check_now",
    "delivery_poll",
    "delivery_poll_tick",
    "delivery_resend",
    "delivery_resume_for_user",
    "delivery_retry",
    "delivery_run",
    "delivery_sweep",
    "max_attempts_for",
    "parse_tag",
    "settle_cancelled",
]

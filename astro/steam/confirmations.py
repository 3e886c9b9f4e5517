"""Mobile confirmations (steamcommunity.com/mobileconf), as the Steam app makes them.

One `getlist`, then one `multiajaxop` (a POST: Steam answers 403 to it without
Origin, which the transport adds) for every pending offer at once, and one `ajaxop`
per offer only when the batch is refused (ArchiSteamFarm's fallback: "almost always
Steam's issue"). Keys are HMAC-SHA1 of the identity secret over Steam's time (`t`,
from `SteamSession.steam_time`) and the tag sent with them; each request of a
batch gets its own `t`, as node-steamcommunity does, in case Steam refuses a reused one.

`confirm_all` runs a round for the gateway: paced per bot across every process
(`STEAM_CONFIRMATION_PACING_SECONDS`, a slot booked in Redis before each getlist, as
ArchiSteamFarm's 10 s limiter), repeated once after acknowledging trade protection
again when Steam refused a listed confirmation without a word (how an
unacknowledged CS2 account shows), and ended by reading the state of every offer
that did not get confirmed here (it may be past its confirmation already).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from steampy import guard

from astro.core.ratelimit import pace_reserve
from astro.steam.answers import check, request
from astro.steam.errors import SteamAuthError, SteamSessionExpired, SteamTransientError
from astro.steam.parsing import ConfirmationEntry, ConfirmationListError, parse_confirmation_list
from astro.steam.steampy_fixes import AstroSteamClient
from astro.steam.transport import COMMUNITY_ORIGIN
from astro.steam.types import OfferState, TradeOffer

log = logging.getLogger(__name__)

MOBILECONF = f"{COMMUNITY_ORIGIN}/mobileconf"
LIST_TAG = "conf"
ALLOW_TAG = "allow"
TRADE_OFFER = 2  # confirmation type: a trade offer (creator_id is the offer id)
_INVALID_AUTHENTICATOR = "invalid authenticator"
# States an offer reaches only after its confirmation: confirming it again is done already.
PAST_CONFIRMATION = frozenset({OfferState.ACTIVE, OfferState.ACCEPTED, OfferState.IN_ESCROW})
Outcome = bool | TradeOffer | None  # True: confirmed; else the offer as Steam shows it (None: unknown)


def is_invalid_authenticator(payload: object) -> bool:
    """Steam's answer to a key it did not accept (a wrong identity secret, a clock far off)."""
    return isinstance(payload, dict) and _INVALID_AUTHENTICATOR in str(payload.get("message") or "").lower()


KEYS_REFUSED = "steam_identity_secret_invalid"


def _refused_keys(what: str) -> SteamAuthError:
    return SteamAuthError(f"{what}: Steam rejects the confirmation keys; check STEAM_IDENTITY_SECRET "
                          "(and Steam's time)", code=KEYS_REFUSED)


@dataclass(frozen=True)
class MobileConfirmations:
    identity_secret: str

    def _params(self, steam_id: int, t: int, tag: str) -> dict[str, str]:
        return {
            "p": guard.generate_device_id(str(steam_id)),
            "a": str(steam_id),
            "k": guard.generate_confirmation_key(self.identity_secret, tag, t).decode(),
            "t": str(t),
            "m": "react",
            "tag": tag,
        }

    def pending_offers(self, client: AstroSteamClient, t: int) -> list[ConfirmationEntry]:
        """The trade-offer confirmations waiting (getlist)."""
        what = "mobileconf getlist"
        response = request(client, "GET", f"{MOBILECONF}/getlist", params=self._params(client.steam_id, t, LIST_TAG),
                           what=what)
        check(response, what, forbidden_means_expired=True)
        try:
            payload = response.json()
        except ValueError:
            raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON") from None
        if is_invalid_authenticator(payload):
            raise _refused_keys(what)
        try:
            entries = parse_confirmation_list(payload)
        except ConfirmationListError as exc:
            if exc.needauth:
                raise SteamSessionExpired(f"{what}: Steam answered needauth") from None
            raise SteamTransientError(f"{what}: {exc}") from None
        except (KeyError, TypeError, ValueError):
            raise SteamTransientError(f"{what}: a confirmation without id or nonce") from None
        return [e for e in entries if e.type == TRADE_OFFER and e.creator_id]

    def allow_all(self, client: AstroSteamClient, entries: list[ConfirmationEntry], t: int) -> bool:
        """Allow every entry in one multiajaxop; True when Steam said success."""
        what = "mobileconf multiajaxop"
        form = [*self._params(client.steam_id, t, ALLOW_TAG).items(), ("op", "allow")]
        for entry in entries:
            form += [("cid[]", entry.id), ("ck[]", entry.nonce)]
        response = request(client, "POST", f"{MOBILECONF}/multiajaxop", data=form, what=what,
                           headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                                    "Origin": COMMUNITY_ORIGIN, "X-Requested-With": "XMLHttpRequest"})
        return self._succeeded(response, what)

    def allow_one(self, client: AstroSteamClient, entry: ConfirmationEntry, t: int) -> bool:
        """Allow one entry (ajaxop); True when Steam said success."""
        what = f"mobileconf ajaxop {entry.creator_id}"
        params = {**self._params(client.steam_id, t, ALLOW_TAG), "op": "allow", "cid": entry.id, "ck": entry.nonce}
        response = request(client, "GET", f"{MOBILECONF}/ajaxop", params=params, what=what,
                           headers={"Origin": COMMUNITY_ORIGIN, "X-Requested-With": "XMLHttpRequest"})
        return self._succeeded(response, what)

    @staticmethod
    def _succeeded(response: requests.Response, what: str) -> bool:
        check(response, what, forbidden_means_expired=True)
        try:
            payload = response.json()
        except ValueError:
            raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON") from None
        if isinstance(payload, dict) and (payload.get("needauth") or payload.get("needsauth")):
            raise SteamSessionExpired(f"{what}: Steam answered needauth")
        if is_invalid_authenticator(payload):
            raise _refused_keys(what)
        return isinstance(payload, dict) and bool(payload.get("success"))


def pace_key(realm: str, steam_id: int) -> str:
    return f"steam-confirmations:{realm}:{steam_id}"


def confirm_all(gateway: Any, offer_ids: list[str]) -> dict[str, Outcome]:
    """Confirm `offer_ids` for `gateway`'s bot (a `SteampyGateway`): each id's outcome."""
    identity_secret = gateway.config.session.identity_secret
    if not identity_secret:
        raise SteamAuthError("confirming offers needs STEAM_IDENTITY_SECRET", code="steam_login_not_configured")
    protocol = MobileConfirmations(identity_secret)
    session = gateway.steam_session
    gateway._ensure_acknowledged(session.current())
    outcome: dict[str, Outcome] = {}
    for acknowledged_again in (False, True):
        refused = _keyed_round(gateway, protocol, [i for i in offer_ids if i not in outcome], outcome)
        if not refused or acknowledged_again:
            break
        # Steam refused a listed confirmation without a word: on a CS2 account that is
        # the unacknowledged trade protection notice.
        log.warning("confirm offers: Steam refused %d confirmation(s); acknowledging trade protection again "
                    "and confirming once more", len(refused))
        gateway._acknowledge(session.current().client)
    for offer_id in offer_ids:
        if outcome.get(offer_id) is not True:
            offer = gateway._read(f"get offer {offer_id}", lambda client: gateway._fetch_offer(client, offer_id))
            outcome[offer_id] = True if offer is not None and offer.state in PAST_CONFIRMATION else offer
    return outcome


def _keyed_round(gateway: Any, protocol: MobileConfirmations, offer_ids: list[str],
                 outcome: dict[str, Outcome]) -> list[str]:
    """A round; when Steam refuses the keys, Steam's time is asked again and the round
    made once more (the clock may have jumped since it was last asked)."""
    try:
        return gateway._read("confirm offers", lambda client: _round(gateway, client, protocol, offer_ids, outcome))
    except SteamAuthError as refused:
        if refused.code != KEYS_REFUSED:
            raise
        log.warning("confirm offers: Steam refused the confirmation keys; asking Steam's time again")
        gateway.steam_session.time_offset(fresh=True)
    return gateway._read("confirm offers", lambda client: _round(gateway, client, protocol, offer_ids, outcome))


def _round(gateway: Any, client: AstroSteamClient, protocol: MobileConfirmations, offer_ids: list[str],
           outcome: dict[str, Outcome]) -> list[str]:
    """One paced getlist + multiajaxop; marks confirmed ids in `outcome`, returns the refused ones."""
    if not offer_ids:
        return []
    offset = gateway.steam_session.time_offset()  # before the slot: asking Steam's time may take a request
    pacing = gateway.config.confirmation_pacing
    if pacing > 0:
        wait = pace_reserve(pace_key(gateway.steam_session.realm, client.steam_id), spacing=pacing)
        if wait > 0:
            time.sleep(wait)
    t = int(time.time()) + offset
    listed = {e.creator_id: e for e in protocol.pending_offers(client, t)}
    pending = [listed[i] for i in offer_ids if i in listed]
    if not pending:
        return []
    if protocol.allow_all(client, pending, t + 1):
        outcome.update({e.creator_id: True for e in pending})
        return []
    refused = []
    for step, entry in enumerate(pending, 2):
        if protocol.allow_one(client, entry, t + step):
            outcome[entry.creator_id] = True
        else:
            refused.append(entry.creator_id)
    return refused

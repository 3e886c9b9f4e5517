from django.test import RequestFactory

from astro.core.clientip import client_ip


def _request(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


def test_one_trusted_proxy_gives_the_address_it_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client forged 6.6.6.6; our proxy (10.0.0.5) appended the real 1.2.3.4.
    assert client_ip(_request("10.0.0.5", "6.6.6.6, 1.2.3.4")) == "1.2.3.4"


def test_two_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request("10.0.0.6", "6.6.6.6, 1.2.3.4, 10.0.0.5")) == "1.2.3.4"


def test_a_garbled_entry_falls_back_to_the_socket_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("10.0.0.5", "not-an-ip")) == "10.0.0.5"

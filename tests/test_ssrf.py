"""Private, link-local and reserved addresses are refused, after DNS and on every redirect hop.

The address rules are unit-tested on addresses such as 169.254.169.254 and 10.0.0.1 without
connecting to them. The crawls below use loopback only: 127.0.0.1, 127.0.0.2 and ::1. A source
that allows only 127.0.0.1 stands in for a source on the public internet, and 127.0.0.2 for the
private network it must not reach; each refusal is checked against the server that would have
answered, and the same redirect is followed for a source that allows private hosts.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import FaultServer, answer, redirect
from scrapy import Request

from horizon.address_policy import AddressPolicy, non_public_range
from horizon.config import ConfigError, CrawlSettings, Source, load_sources
from horizon.fetch import CrawlJob, FetchOutcome
from spiders.address_check import AddressCheckingResolver, ProxyExemptionMiddleware
from spiders.crawl import run_crawl

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>Public news</title><link>https://news.example/1</link></item></channel></rss>"""
SECRET = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Inside</title>
<item><title>Instance credentials</title><link>https://inside.example/1</link></item>
</channel></rss>"""
ONLY_FIRST_LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("10.255.255.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("192.0.2.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd00::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a00:1::", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("::a00:1", "reserved"),
    ],
)
def test_non_public_addresses_are_classified_without_connecting(address: str, kind: str) -> None:
    assert non_public_range(ipaddress.ip_address(address)) == kind
    refusal = AddressPolicy().refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert f"{kind} address" in refusal
    assert "allow_private_hosts" in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_allowing_private_hosts_opens_all_or_only_the_networks_listed() -> None:
    metadata = ipaddress.ip_address("169.254.169.254")
    intranet = ipaddress.ip_address("10.1.2.3")
    some = AddressPolicy.from_setting(["10.0.0.0/8"])

    assert AddressPolicy.from_setting(True).refusal(metadata) is None
    assert some.refusal(intranet) is None
    assert some.refusal(ipaddress.ip_address("::ffff:10.1.2.3")) is None
    assert some.refusal(metadata) is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:///etc/passwd", "'file:'"),
        ("ftp://ftp.example/feed", "'ftp:'"),
        ("gopher://127.0.0.1:6379/_INFO", "'gopher:'"),
        ("http://:80/feed", "no host name"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00::1]/feed", "private"),
        ("http://[::ffff:10.0.0.1]/feed", "private"),
        ("http://0.0.0.0:8080/feed", "unspecified"),
        ("http://example.org:99999/feed", "malformed"),
    ],
)
def test_urls_are_refused_for_scheme_missing_host_or_literal_private_address(
    url: str, expected: str
) -> None:
    refusal = AddressPolicy().url_refusal(url)

    assert refusal is not None
    assert expected in refusal


SOURCES_YAML = """
sources:
  - id: metadata-feed
    name: Metadata
    publisher: P
    category: regulator
    jurisdiction: UK
    kind: rss
    url: http://169.254.169.254/latest/meta-data/
  - id: no-host
    name: No host
    publisher: P
    category: regulator
    jurisdiction: UK
    kind: rss
    url: http://:80/feed
  - id: intranet-feed
    name: Intranet
    publisher: P
    category: regulator
    jurisdiction: UK
    kind: rss
    url: http://10.0.0.5/feed.xml
    allow_private_hosts: ["10.0.0.0/8"]
  - id: local-feed
    name: Local
    publisher: P
    category: regulator
    jurisdiction: UK
    kind: rss
    url: http://[::1]:8080/feed.xml
    allow_private_hosts: true
  - id: bad-allowance
    name: Bad allowance
    publisher: P
    category: regulator
    jurisdiction: UK
    kind: rss
    url: https://regulator.example/feed.xml
    allow_private_hosts: ["the office"]
"""


def test_sources_yaml_refuses_private_urls_and_empty_hosts_with_one_plain_line_each(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES_YAML)

    with pytest.raises(ConfigError) as raised:
        load_sources(path)

    problems = raised.value.problems
    assert len(problems) == 3, problems
    assert "entry 1 ('metadata-feed')" in problems[0]
    assert "169.254.169.254 is a link-local address" in problems[0]
    assert "allow_private_hosts" in problems[0]
    assert "entry 2 ('no-host')" in problems[1]
    assert "no host name" in problems[1]
    assert "entry 5 ('bad-allowance')" in problems[2]
    assert "'the office' is not an IP address or network" in problems[2]


# ----- crawls on loopback ------------------------------------------------------------------


def loopback_source(source_id: str, url: str, allow: Any, kind: str = "rss") -> Source:
    extra: dict[str, Any] = {}
    if kind == "html-listing":
        extra["selectors"] = {"item": "li", "title": "a::text", "link": "a::attr(href)"}
    return Source(
        id=source_id,
        name=source_id,
        publisher="Test publisher",
        category="regulator",
        jurisdiction="UK",
        kind=kind,
        url=url,
        allow_private_hosts=allow,
        **extra,
    )


def second_loopback_available() -> bool:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_more_loopback = pytest.mark.skipif(
    not second_loopback_available(), reason="needs 127.0.0.2 and ::1 on the loopback interface"
)


class Network:
    """Three loopback servers: the "public" one, the "private" one, and one on ::1."""

    def __init__(self) -> None:
        self.private = FaultServer({"/secret": answer(SECRET)}, host="127.0.0.2")
        self.public = FaultServer({}, host="127.0.0.1")
        self.ipv6 = FaultServer({"/feed.xml": answer(RSS)}, host="::1")
        private_port = self.private.server.server_address[1]
        public_port = self.public.server.server_address[1]
        secret = f"{self.private.base}/secret"
        refresh = f'<html><head><meta http-equiv="refresh" content="0;url={secret}"></head></html>'
        self.public.routes.update(
            {
                "/feed.xml": answer(RSS),
                "/direct.xml": answer(RSS),
                "/secret": answer(SECRET),
                "/to-private": redirect(secret),
                "/to-private-later": redirect("/hop-2"),
                "/hop-2": redirect(secret, status=301),
                "/to-file": redirect("file:///etc/passwd"),
                "/refresh": answer(refresh.encode(), "text/html; charset=utf-8"),
            }
        )
        self.private.routes["/to-localhost"] = redirect(f"http://localhost:{public_port}/secret")
        assert private_port != 0


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    net = Network()
    with net.private, net.public, net.ipv6:
        yield net


@pytest.fixture(scope="module")
def crawl(network: Network, tmp_path_factory: pytest.TempPathFactory) -> dict[str, FetchOutcome]:
    public, private, ipv6 = network.public.base, network.private.base, network.ipv6.base
    port = network.public.server.server_address[1]
    sources = [
        loopback_source("redirect-to-private", f"{public}/to-private", ONLY_FIRST_LOOPBACK),
        loopback_source("second-hop-private", f"{public}/to-private-later", ONLY_FIRST_LOOPBACK),
        loopback_source("redirect-allowed", f"{public}/to-private", True),
        loopback_source("resolves-private", f"{private}/to-localhost", ["127.0.0.2"]),
        loopback_source("host-name-private", f"http://localhost:{port}/direct.xml", False),
        loopback_source("redirect-to-file", f"{public}/to-file", True),
        loopback_source(
            "refresh-to-private", f"{public}/refresh", ONLY_FIRST_LOOPBACK, "html-listing"
        ),
        loopback_source("ipv6-literal", f"{ipv6}/feed.xml", ["::1"]),
    ]
    settings = CrawlSettings(delay_seconds=0, timeout_seconds=10, retries=0, obey_robots_txt=False)
    outcomes = run_crawl(CrawlJob(crawl=settings, sources=sources), tmp_path_factory.mktemp("ssrf"))
    return {outcome.source: outcome for outcome in outcomes}


@needs_more_loopback
def test_redirect_to_another_private_address_is_refused_before_it_is_sent(
    crawl: dict[str, FetchOutcome], network: Network
) -> None:
    outcome = crawl["redirect-to-private"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "127.0.0.2 is a loopback address" in outcome.error
    assert "allow_private_hosts" in outcome.error
    assert "redirected here from" in outcome.error
    assert crawl["redirect-allowed"].outcome == "ok"
    assert network.private.paths().count("/secret") == 1  # the allowed source's request only


@needs_more_loopback
def test_every_redirect_hop_is_checked(crawl: dict[str, FetchOutcome], network: Network) -> None:
    outcome = crawl["second-hop-private"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "127.0.0.2 is a loopback address" in outcome.error
    assert "/hop-2" in network.public.paths()


@needs_more_loopback
def test_host_names_are_checked_after_dns_resolution(
    crawl: dict[str, FetchOutcome], network: Network
) -> None:
    redirected = crawl["resolves-private"]
    direct = crawl["host-name-private"]

    for outcome in (redirected, direct):
        assert outcome.outcome == "failed"
        assert outcome.error is not None
        assert "localhost resolves to a forbidden address: 127.0.0.1 is a loopback" in (
            outcome.error
        )
    assert "/direct.xml" not in network.public.paths()
    assert "/secret" not in network.public.paths()


@needs_more_loopback
def test_redirect_to_a_file_url_is_never_followed(crawl: dict[str, FetchOutcome]) -> None:
    outcome = crawl["redirect-to-file"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "redirected to file:///etc/passwd, which Horizon does not follow" in outcome.error
    assert "root:" not in outcome.error
    assert outcome.entries == []


@needs_more_loopback
def test_meta_refresh_to_a_forbidden_address_is_not_followed(
    crawl: dict[str, FetchOutcome],
) -> None:
    outcome = crawl["refresh-to-private"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "127.0.0.2 is a loopback address" in outcome.error


@needs_more_loopback
def test_ipv6_literal_urls_are_fetched(crawl: dict[str, FetchOutcome]) -> None:
    outcome = crawl["ipv6-literal"]

    assert outcome.outcome == "ok", outcome.error
    assert [entry.title for entry in outcome.entries] == ["Public news"]


class Answering:
    """A stand-in for the system resolver: fixed answers, nothing looked up or connected to."""

    def __init__(self, *hosts: str) -> None:
        self.hosts = hosts

    def resolveHostName(self, receiver: Any, host: str, *args: Any) -> None:
        from twisted.internet.address import IPv4Address, IPv6Address

        receiver.resolutionBegan(None)
        for address in self.hosts:
            family = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(family("TCP", address, 80))
        receiver.resolutionComplete()


class Receiver:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.complete = False

    def resolutionBegan(self, resolution: object) -> None:
        return

    def addressResolved(self, address: Any) -> None:
        self.hosts.append(address.host)

    def resolutionComplete(self) -> None:
        self.complete = True


def resolver_answering(policy: AddressPolicy, *hosts: str) -> AddressCheckingResolver:
    class Reactor:
        nameResolver = Answering(*hosts)

    return AddressCheckingResolver(Reactor(), 0, policy)  # type: ignore[arg-type]


def resolve(resolver: AddressCheckingResolver, host: str) -> Receiver:
    receiver = Receiver()
    resolver.resolveHostName(receiver, host, 80)  # type: ignore[arg-type]
    assert receiver.complete
    return receiver


def test_resolver_drops_addresses_no_source_may_reach_so_dns_rebinding_cannot_connect() -> None:
    """The resolver the connections use keeps only allowed addresses, whatever DNS answers
    after the per-request check; judged on resolution results, nothing is connected to."""
    resolver = resolver_answering(
        AddressPolicy.from_setting(["10.0.0.0/8"]),
        "169.254.169.254",
        "93.184.215.14",
        "fd00::1",
        "10.1.2.3",
    )

    assert resolve(resolver, "rebinding.test").hosts == ["93.184.215.14", "10.1.2.3"]


def test_a_proxy_in_use_stays_reachable_through_the_filtering_resolver() -> None:
    """Behind a proxy on a private address, the connection goes to the proxy the operator
    chose; the resolver leaves that host's addresses alone."""
    resolver = resolver_answering(AddressPolicy(), "10.0.0.8")
    before = resolve(resolver, "proxy.corp.test")

    ProxyExemptionMiddleware(resolver).process_request(
        Request("https://regulator.example/feed", meta={"proxy": "http://proxy.corp.test:3128"})
    )

    assert before.hosts == []
    assert resolve(resolver, "proxy.corp.test").hosts == ["10.0.0.8"]
    assert resolve(resolver, "other.corp.test").hosts == []

"""Refusing private and reserved addresses, after DNS, on every request and redirect hop.

Three checks, with the rules in `horizon.address_policy`:

- `AddressCheckMiddleware` runs before any other downloader middleware (robots.txt included),
  so every request — the first, each redirect hop, each meta refresh — has its scheme checked
  and its host resolved and judged by its own source's policy before anything is sent.
- `AddressCheckingResolver` is the name resolver the connections use: it drops any resolved
  address that no source of the crawl allows, so a DNS answer that changes after the check
  (DNS rebinding) still cannot reach a private address.
- The address each response actually came from is judged again by the source's policy.

Behind a proxy (Scrapy's HttpProxyMiddleware, from the usual proxy environment variables) the
connection goes to the proxy the operator chose: `ProxyExemptionMiddleware` tells the resolver
to leave the proxy's own addresses alone, and the peer-address check is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IHostResolution, IResolutionReceiver
from zope.interface import provider

from horizon.address_policy import AddressPolicy, ip_literal
from horizon.config import Source

POLICY_SETTING = "HORIZON_CRAWL_ADDRESS_POLICY"
RESOLVE_SETTING = "HORIZON_RESOLVE_ADDRESSES"


class AddressRefused(IgnoreRequest):
    """A request was not sent because its address is not allowed; the message says why."""


def crawl_policy(sources: Sequence[Source]) -> AddressPolicy:
    """What any source of a crawl may reach: the limit for checks not tied to one source."""
    policy = AddressPolicy()
    for source in sources:
        policy = policy.merged(source.address_policy())
    return policy


def policy_setting(policy: AddressPolicy) -> dict[str, Any]:
    """`policy` as plain values for Scrapy's settings."""
    return {
        "allow_all_private": policy.allow_all_private,
        "allowed_networks": [str(network) for network in policy.allowed_networks],
    }


def policy_from_setting(value: dict[str, Any] | None) -> AddressPolicy:
    if not value:
        return AddressPolicy()
    if value["allow_all_private"]:
        return AddressPolicy(allow_all_private=True)
    return AddressPolicy.from_setting(value["allowed_networks"])


class AddressCheckMiddleware:
    """Refuses a request whose URL or resolved addresses its source's policy does not allow."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.crawl_policy = policy_from_setting(crawler.settings.getdict(POLICY_SETTING))
        self.resolve = crawler.settings.getbool(RESOLVE_SETTING, True)
        self.dns_timeout_s = crawler.settings.getfloat("DNS_TIMEOUT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressCheckMiddleware:
        return cls(crawler)

    def policy_for(self, request: Request) -> AddressPolicy:
        """The request's source's policy; robots.txt requests (no source) get the crawl's."""
        source = request.cb_kwargs.get("source")
        return source.address_policy() if isinstance(source, Source) else self.crawl_policy

    async def process_request(self, request: Request) -> None:
        policy = self.policy_for(request)
        problem = policy.url_refusal(request.url)
        if problem is None and self.resolve:
            problem = await self._resolved_refusal(request, policy)
        if problem is not None:
            raise AddressRefused(f"not fetched{_redirected_from(request)} — {problem}")

    def process_response(self, request: Request, response: Response) -> Response:
        if response.ip_address is not None and not request.meta.get("proxy"):
            problem = self.policy_for(request).refusal(response.ip_address)
            if problem is not None:
                raise AddressRefused(f"answer refused{_redirected_from(request)} — {problem}")
        return response

    async def _resolved_refusal(self, request: Request, policy: AddressPolicy) -> str | None:
        host = urlparse_cached(request).hostname or ""
        if ip_literal(host) is not None:
            return None
        from twisted.internet import reactor

        try:
            addresses = await asyncio.wait_for(
                maybe_deferred_to_future(resolve_host(reactor, host)), self.dns_timeout_s
            )
        except (OSError, TimeoutError):
            return None  # the download itself fails and reports the DNS problem
        for address in addresses:
            literal = ip_literal(address)
            problem = policy.refusal(literal) if literal is not None else None
            if problem is not None:
                return f"{host} resolves to a forbidden address: {problem}"
        return None


def _redirected_from(request: Request) -> str:
    earlier = request.meta.get("redirect_urls") or []
    return f" (the source redirected here from {earlier[0]})" if earlier else ""


def resolve_host(reactor: Any, host: str) -> Deferred[list[str]]:
    """The addresses `host` resolves to, through the resolver connections use (and its cache)."""
    found: Deferred[list[str]] = Deferred()
    addresses: list[str] = []

    @provider(IResolutionReceiver)
    class Collect:
        @staticmethod
        def resolutionBegan(resolution: IHostResolution) -> None:
            return

        @staticmethod
        def addressResolved(address: IAddress) -> None:
            addresses.append(address.host)

        @staticmethod
        def resolutionComplete() -> None:
            found.callback(addresses)

    resolver = reactor.nameResolver
    getattr(resolver, "resolve_unfiltered", resolver.resolveHostName)(Collect, host, 0)
    return found


class ProxyExemptionMiddleware:
    """Runs after Scrapy's proxy middleware: the proxy a request goes through is reachable."""

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyExemptionMiddleware:
        from twisted.internet import reactor

        return cls(getattr(reactor, "nameResolver", None))

    def process_request(self, request: Request) -> None:
        proxy = request.meta.get("proxy")
        if not proxy or not isinstance(self.resolver, AddressCheckingResolver):
            return
        host = urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname
        if host:
            self.resolver.proxy_hosts.add(host)


class AddressCheckingResolver(CachingHostnameResolver):
    """Scrapy's caching IPv4+IPv6 resolver, keeping only addresses some source may reach
    (and every address of a proxy in use)."""

    def __init__(self, reactor: ReactorBase, cache_size: int, policy: AddressPolicy) -> None:
        super().__init__(reactor, cache_size)
        self.policy = policy
        self.proxy_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> AddressCheckingResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, policy_from_setting(settings.getdict(POLICY_SETTING)))

    def resolve_unfiltered(self, receiver: IResolutionReceiver, host: str, port: int) -> Any:
        """Every address `host` resolves to, for the per-source check to judge."""
        return super().resolveHostName(receiver, host, port)

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        if hostName in self.proxy_hosts:
            return super().resolveHostName(
                resolutionReceiver, hostName, portNumber, addressTypes, transportSemantics
            )
        allowed: Any = _Allowed(resolutionReceiver, self.policy)
        return super().resolveHostName(
            allowed,
            hostName,
            portNumber,
            addressTypes,
            transportSemantics,
        )


@provider(IResolutionReceiver)
class _Allowed:
    """Passes on only the resolved addresses `policy` allows."""

    def __init__(self, receiver: IResolutionReceiver, policy: AddressPolicy) -> None:
        self.receiver: Any = receiver  # zope interfaces type their methods without self
        self.policy = policy

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        literal = ip_literal(getattr(address, "host", ""))
        if literal is not None and self.policy.refusal(literal) is None:
            self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()

"""Scrapy settings for a crawl, derived from Horizon's `CrawlSettings`."""

from __future__ import annotations

from typing import Any

from horizon.address_policy import AddressPolicy
from horizon.config import CrawlSettings
from horizon.fetch import ArchiveTarget
from horizon.parse import MAX_BODY_BYTES
from spiders.address_check import POLICY_SETTING, RESOLVE_SETTING, policy_setting
from spiders.archive import ARCHIVE_SETTING
from spiders.base import MAX_REDIRECTS
from spiders.render import render_settings

MIN_RETRY_BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 60.0
REPLAY_HANDLER = "spiders.replay.ReplayDownloadHandler"
REPLAY_RENDERING_HANDLER = "spiders.replay.ReplayRenderingHandler"
NON_HTTP_SCHEMES = ("file", "data", "ftp", "s3")


def scrapy_settings(
    crawl: CrawlSettings,
    replay_dir: str | None = None,
    address_policy: AddressPolicy | None = None,
    archive: ArchiveTarget | None = None,
    render_hosts: list[str] | None = None,
) -> dict[str, Any]:
    """Settings for one crawl: politeness from `crawl`, or instant answers from a snapshot.

    Cookies are off (feeds need no session) and so are Scrapy's telnet and remote-control
    consoles, which would open listening ports. Only http and https are fetched, and every
    address is checked (spiders.address_check); `address_policy` is the most any source of the
    crawl may reach. A replay resolves no host names: it connects to nothing.

    A replay keeps everything a live crawl does (robots.txt, redirects, retries, conditional
    GET) except waiting: delays and backoff exist to spare live servers. With `archive`, every
    response is also written to a WARC file (spiders.archive). With `render_hosts` (the hosts of
    `render: true` sources), their requests go through headless chromium (spiders.render); a
    replay renders them too, the browser's every request answered from the snapshot.
    """
    replaying = replay_dir is not None
    settings: dict[str, Any] = {
        "BOT_NAME": "horizon",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        "DOWNLOAD_DELAY": 0.0 if replaying else crawl.delay_seconds,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "DNS_TIMEOUT": crawl.timeout_seconds,
        "RETRY_TIMES": crawl.retries,
        "HORIZON_RETRY_BACKOFF_S": (
            0.0 if replaying else max(crawl.delay_seconds, MIN_RETRY_BACKOFF_S)
        ),
        "HORIZON_MAX_RETRY_AFTER_S": 0.0 if replaying else MAX_RETRY_AFTER_S,
        "TWISTED_DNS_RESOLVER": "spiders.address_check.AddressCheckingResolver",
        POLICY_SETTING: policy_setting(address_policy or AddressPolicy()),
        RESOLVE_SETTING: not replaying,
        "DOWNLOAD_HANDLERS": {scheme: None for scheme in NON_HTTP_SCHEMES},
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.address_check.AddressCheckMiddleware": 50,
            "spiders.address_check.ProxyExemptionMiddleware": 760,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "spiders.middlewares.SharedRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.middlewares.BackoffRetryMiddleware": 550,
        },
        "DOWNLOAD_MAXSIZE": MAX_BODY_BYTES,
        "REDIRECT_MAX_TIMES": MAX_REDIRECTS,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS": {"scrapy.extensions.logstats.LogStats": None},
        "LOG_LEVEL": "WARNING",
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
    }
    if replaying:
        settings["DOWNLOAD_HANDLERS"].update({"http": REPLAY_HANDLER, "https": REPLAY_HANDLER})
        settings["HORIZON_REPLAY_DIR"] = replay_dir
    if render_hosts:
        rendering = render_settings(
            render_hosts, crawl.timeout_seconds, crawl.concurrency_per_domain
        )
        handlers = rendering.pop("DOWNLOAD_HANDLERS")
        if replaying:
            handlers = {scheme: REPLAY_RENDERING_HANDLER for scheme in handlers}
        settings["DOWNLOAD_HANDLERS"].update(handlers)
        settings.update(rendering)
    if archive is not None:
        settings["DOWNLOADER_MIDDLEWARES"]["spiders.archive.ArchiveMiddleware"] = 950
        settings[ARCHIVE_SETTING] = archive.model_dump()
    return settings

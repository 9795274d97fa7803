"""Digest email against a real SMTP server on loopback (aiosmtpd): one message per profile with
the right recipients and parts, never twice, failures reported and retried, TLS and login, the
outbox when no server is configured, and the `horizon digest --send` command."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from icalendar import Calendar
from test_digest import AS_OF, SOURCES, W37, seed_week
from typer.testing import CliRunner

import horizon.cli  # noqa: F401  (registers the commands on the app)
from horizon.cli.common import app
from horizon.config import ConfigError, Settings, SmtpSettings, load_smtp_settings
from horizon.deliver import (
    DeliveryError,
    DeliveryLedger,
    DigestMail,
    OutboxTransport,
    SmtpTransport,
    chart_content_id,
    compose_message,
    process_identity,
)
from horizon.digest import PublishReport, publish_week
from horizon.state import StateDB

SENDER = "Horizon <horizon@example.org>"
PROFILES = """\
profiles:
  - name: data-protection
    title: Data protection team
    recipients: [dpo@example.org, privacy@example.org]
    controls: [DATA-PRIVACY, TRANSPARENCY]
  - name: vendor-management
    title: Vendor management
    recipients: [vendors@example.org]
    controls: [THIRD-PARTY]
  - name: board
    title: Board pack
"""


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, and can be told to refuse."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.data_replies: list[str] = []
        self.logins: list[bytes] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        if data.password != b"s3cret":
            return AuthResult(success=False, handled=False)
        self.logins.append(data.login)
        return AuthResult(success=True)


class LoopbackController(Controller):
    """aiosmtpd's controller on 127.0.0.1 port 0, reading back the port the system chose."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def home(settings: Settings) -> Settings:
    settings.home.mkdir(parents=True)
    (settings.home / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    seed_week(StateDB(settings.state_db))
    return settings


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, security: str = "none") -> None:
    monkeypatch.setenv("HORIZON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HORIZON_SMTP_PORT", str(port))
    monkeypatch.setenv("HORIZON_SMTP_SECURITY", security)
    monkeypatch.setenv("HORIZON_SMTP_FROM", SENDER)


def publish(settings: Settings, **options: Any) -> PublishReport:
    return publish_week(StateDB(settings.state_db), W37, SOURCES, settings, AS_OF, **options)


def statuses(report: PublishReport) -> dict[str, str]:
    return {delivery.profile: delivery.status for delivery in report.deliveries}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_each_profile_gets_one_message_with_its_recipients_both_parts_chart_and_calendar(
    home: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = mailbox
    use_smtp(monkeypatch, port)
    report = publish(home)
    assert statuses(report) == {
        "data-protection": "sent",
        "vendor-management": "sent",
        "board": "skipped",
    }
    received = {message["X-Horizon-Digest"]: (rcpt, message) for rcpt, message in handler.messages}
    assert sorted(received) == ["2025-W37 data-protection", "2025-W37 vendor-management"]
    recipients, message = received["2025-W37 data-protection"]
    assert recipients == ["dpo@example.org", "privacy@example.org"]
    assert message["To"] == "dpo@example.org, privacy@example.org"
    assert message["From"] == SENDER
    assert message["Subject"] == (
        "Horizon 2025-W37 — Data protection team: 1 needs action, 2 relevant, 6 sources checked"
    )
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Commission consults on AI Act transparency guidelines" in text.get_content()
    cid = chart_content_id("2025-W37", "data-protection")
    assert f'src="cid:{cid}"' in html.get_content()
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content().startswith(b"\x89PNG")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "horizon-2025-W37-data-protection.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    assert [str(event["summary"]) for event in calendar.walk("VEVENT")] == [
        "Consultation closes: Commission consults on AI Act transparency guidelines"
    ]


def test_a_rerun_sends_nothing_new_and_resend_sends_again(
    home: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = mailbox
    use_smtp(monkeypatch, port)
    publish(home)
    again = publish(home)
    assert len(handler.messages) == 2
    assert statuses(again)["data-protection"] == "already sent"
    assert "use --resend to send it again" in again.deliveries[0].detail
    resent = publish(home, resend=True, profile="vendor-management")
    assert statuses(resent) == {"vendor-management": "sent"}
    assert len(handler.messages) == 3


def test_a_refusing_server_gives_a_clear_error_nothing_is_marked_sent_and_a_rerun_retries(
    home: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = mailbox
    use_smtp(monkeypatch, port)
    handler.data_replies = ["554 5.7.1 Message rejected as spam"] * 2
    report = publish(home)
    assert [d.status for d in report.failed] == ["failed", "failed"]
    detail = report.failed[0].detail
    assert detail.startswith("not sent to dpo@example.org, privacy@example.org: the SMTP server")
    assert f"127.0.0.1:{port} refused the message (554 5.7.1 Message rejected as spam)" in detail
    assert "(1 attempt). Nothing was recorded as sent" in detail
    ledger = DeliveryLedger(StateDB(home.state_db))
    record = ledger.get("2025-W37", "data-protection")
    assert record is not None and record.status == "failed" and record.delivered_at is None
    assert handler.messages == []
    retried = publish(home)
    assert statuses(retried) == {
        "data-protection": "sent",
        "vendor-management": "sent",
        "board": "skipped",
    }
    assert len(handler.messages) == 2


def test_a_temporary_refusal_is_retried_within_the_run(
    home: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    handler, port = mailbox
    handler.data_replies = ["451 4.3.0 Try again later"]
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", sender=SENDER)
    report = publish(home, profile="vendor-management", transport=SmtpTransport(smtp, None, (0,)))
    (delivery,) = report.deliveries
    assert delivery.status == "sent"
    assert delivery.detail == f"sent through 127.0.0.1:{port} at attempt 2"
    assert len(handler.messages) == 1


def test_a_server_that_is_down_is_tried_again_then_reported_and_not_marked_sent(
    home: Settings,
) -> None:
    port = closed_port()
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="starttls", sender=SENDER)
    report = publish(home, transport=SmtpTransport(smtp, retry_delays=(0, 0)))
    failed = report.failed
    assert [d.profile for d in failed] == ["data-protection", "vendor-management"]
    assert f"cannot reach the SMTP server 127.0.0.1:{port} (Connection refused)" in (
        failed[0].detail
    )
    assert failed[0].attempts == 3 and "(3 attempts)" in failed[0].detail
    records = DeliveryLedger(StateDB(home.state_db)).records("2025-W37")
    assert {r.profile: r.status for r in records} == {
        "data-protection": "failed",
        "vendor-management": "failed",
    }


def test_without_smtp_settings_mail_goes_to_the_outbox_once(home: Settings) -> None:
    report = publish(home)
    outbox = home.digests_dir / "outbox"
    names = sorted(path.name for path in outbox.iterdir())
    assert names == ["2025-W37-data-protection.eml", "2025-W37-vendor-management.eml"]
    assert report.deliveries[0].detail == f"written to {outbox / names[0]}"
    message = email.message_from_bytes((outbox / names[0]).read_bytes(), policy=policy.default)
    assert message["To"] == "dpo@example.org, privacy@example.org"
    assert message["From"] == "Horizon <horizon@localhost>"
    assert statuses(publish(home))["data-protection"] == "already sent"
    assert len(list(outbox.iterdir())) == 2
    publish(home, resend=True, profile="data-protection")
    assert (outbox / "2025-W37-data-protection-2.eml").is_file()


def test_writing_files_only_sends_nothing(home: Settings) -> None:
    report = publish(home, send=False)
    assert report.deliveries == []
    assert not (home.digests_dir / "outbox").exists()
    assert report.paths[0] == str(home.digests_dir / "2025-W37.md")
    assert report.paths[-1] == str(home.digests_dir / "feed.xml")
    assert str(home.digests_dir / "data-protection" / "2025-W37.html") in report.paths
    # six files per digest (four digests), per-team feeds (four per profile, three for all
    # items, whose Atom feed of digests is feed.xml) and feed.xml
    assert len(report.paths) == 4 * 6 + 3 * 4 + 3 + 1


def finished_process_identity() -> str:
    """The claim identity of a process that has exited, as a killed sender leaves behind."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:1"


def test_a_claim_by_a_live_process_holds_and_one_left_by_a_dead_process_is_taken_at_once(
    settings: Settings,
) -> None:
    ledger = DeliveryLedger(StateDB(settings.state_db))
    now = dt.datetime(2025, 9, 15, 7, tzinfo=dt.UTC)
    assert ledger.claim("2025-W37", "dp", resend=False, now=now) is None
    later = now + dt.timedelta(hours=2)
    blocking = ledger.claim("2025-W37", "dp", resend=False, now=later)
    assert blocking is not None and blocking.status == "sending"
    assert blocking.claimed_by == process_identity()
    assert ledger.claim("2025-W37", "dq", False, now, claimant=finished_process_identity()) is None
    assert ledger.claim("2025-W37", "dq", False, now + dt.timedelta(seconds=1)) is None
    ledger.record_sent("2025-W37", "dp", "smtp", ["a@example.org"], "sent", 1, now)
    sent = ledger.claim("2025-W37", "dp", resend=False, now=now)
    assert sent is not None and sent.status == "sent" and sent.recipients == ["a@example.org"]
    assert ledger.claim("2025-W37", "dp", resend=True, now=now) is None


def test_a_claim_from_another_host_is_taken_over_only_once_it_is_stale(
    settings: Settings,
) -> None:
    ledger = DeliveryLedger(StateDB(settings.state_db))
    now = dt.datetime(2025, 9, 15, 7, tzinfo=dt.UTC)
    assert ledger.claim("2025-W37", "dp", False, now, claimant="elsewhere:123:456") is None
    assert ledger.claim("2025-W37", "dp", False, now + dt.timedelta(minutes=1)) is not None
    assert ledger.claim("2025-W37", "dp", False, now + dt.timedelta(minutes=16)) is None


KILLED_SENDER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_digest import AS_OF, SOURCES, W37
from horizon.config import load_settings
from horizon.deliver import OutboxTransport
from horizon.digest import publish_week
from horizon.state import StateDB

settings = load_settings(home=Path(sys.argv[2]), env={})
marker, write_first = Path(sys.argv[3]), sys.argv[4] == "after-write"

class StopsMidway(OutboxTransport):
    def send(self, message, name):
        if write_first:
            super().send(message, name)
        marker.write_text("sending")
        time.sleep(600)
        raise AssertionError("the test kills this process before it gets here")

publish_week(StateDB(settings.state_db), W37, SOURCES, settings, AS_OF, profile="board",
             transport=StopsMidway(settings.digests_dir / "outbox"))
"""


@pytest.mark.parametrize("moment", ["before-write", "after-write"])
def test_a_sender_killed_mid_send_is_finished_by_the_next_run_with_one_message(
    home: Settings, tmp_path: Path, moment: str
) -> None:
    (home.home / "profiles.yaml").write_text(
        PROFILES.replace(
            "    title: Board pack", "    title: Board pack\n    recipients: [b@x.org]"
        ),
        encoding="utf-8",
    )
    marker = tmp_path / "sending"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_SENDER,
            str(Path(__file__).parent),
            str(home.home),
            str(marker),
            moment,
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the sender stopped before it began sending"
            assert time.monotonic() < deadline, "the sender never began sending"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    report = publish(home, profile="board")
    (delivery,) = report.deliveries
    assert delivery.status == "sent", delivery.detail
    assert ("earlier run" in delivery.detail) == (moment == "after-write")
    outbox = sorted(path.name for path in (home.digests_dir / "outbox").glob("*.eml"))
    assert outbox == ["2025-W37-board.eml"]
    assert statuses(publish(home, profile="board")) == {"board": "already sent"}


def test_a_failed_resend_keeps_the_digest_recorded_as_sent(settings: Settings) -> None:
    ledger = DeliveryLedger(StateDB(settings.state_db))
    now = dt.datetime(2025, 9, 15, 7, tzinfo=dt.UTC)
    ledger.claim("2025-W37", "dp", False, now)
    ledger.record_sent("2025-W37", "dp", "smtp", ["a@example.org"], "sent through x", 1, now)
    ledger.claim("2025-W37", "dp", True, now)
    ledger.record_failed("2025-W37", "dp", "smtp", ["a@example.org"], "refused", 1)
    record = ledger.get("2025-W37", "dp")
    assert record is not None
    assert (record.status, record.detail, record.attempts) == ("sent", "sent through x", 2)


class Interrupted(Exception):
    """Stands for a process being stopped in the middle of a send."""


class InterruptedTransport:
    kind = "smtp"

    def send(self, message: EmailMessage, name: str) -> str:
        raise Interrupted("stopped while talking to the server")


def test_a_send_interrupted_midway_is_released_and_sent_by_the_next_run(home: Settings) -> None:
    with pytest.raises(Interrupted):
        publish(home, profile="data-protection", transport=InterruptedTransport())
    record = DeliveryLedger(StateDB(home.state_db)).get("2025-W37", "data-protection")
    assert record is not None and record.status == "failed"
    assert statuses(publish(home, profile="data-protection")) == {"data-protection": "sent"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with `cryptography`."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def tls_server(
    certificate: tuple[Path, Path], implicit: bool
) -> tuple[Mailbox, LoopbackController]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler = Mailbox()
    # aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH, so a server that
    # speaks TLS from the first byte must be told that login without STARTTLS is fine.
    options: dict[str, Any] = (
        {"ssl_context": context, "auth_require_tls": False}
        if implicit
        else {"tls_context": context, "require_starttls": True, "auth_required": True}
    )
    controller = LoopbackController(
        handler,
        hostname="127.0.0.1",
        port=0,
        authenticator=handler.authenticate,
        **options,
    )
    controller.start()
    return handler, controller


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login_with_credentials_from_the_environment(
    home: Settings,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    handler, controller = tls_server(certificate, implicit=security == "ssl")
    try:
        use_smtp(monkeypatch, controller.port, security)
        monkeypatch.setenv("HORIZON_SMTP_USER", "horizon")
        monkeypatch.setenv("HORIZON_SMTP_PASSWORD", "s3cret")
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        report = publish(home, profile="vendor-management")
    finally:
        controller.stop()
    assert statuses(report) == {"vendor-management": "sent"}, report.deliveries
    assert handler.logins == [b"horizon"]
    assert [rcpt for rcpt, _ in handler.messages] == [["vendors@example.org"]]


def test_a_refused_login_is_reported_at_once_and_not_retried(
    home: Settings, certificate: tuple[Path, Path]
) -> None:
    handler, controller = tls_server(certificate, implicit=False)
    client = ssl.create_default_context(cafile=str(certificate[0]))
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=controller.port,
        security="starttls",
        user="horizon",
        password="wrong",
        sender=SENDER,
    )
    try:
        report = publish(home, profile="vendor-management", transport=SmtpTransport(smtp, client))
    finally:
        controller.stop()
    (delivery,) = report.deliveries
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "refused the login for HORIZON_SMTP_USER (535" in delivery.detail
    assert handler.messages == []


def test_a_certificate_that_cannot_be_trusted_is_a_plain_tls_error(
    certificate: tuple[Path, Path],
) -> None:
    _, controller = tls_server(certificate, implicit=True)
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port, security="ssl", sender=SENDER)
    message = compose_message(
        DigestMail(
            "2025-W37", "dp", "s", ("a@example.org",), "t", "<p>h</p>", None, "c", b"", "c.ics"
        ),
        SENDER,
        AS_OF,
    )
    try:
        with pytest.raises(DeliveryError, match=r"TLS with the SMTP server .* failed") as caught:
            SmtpTransport(smtp, retry_delays=(0,)).send(message, "x")
    finally:
        controller.stop()
    assert caught.value.attempts == 1


def test_compose_nests_text_html_chart_and_calendar_as_mail_clients_expect() -> None:
    mail = DigestMail(
        week="2025-W37",
        profile="dp",
        subject="Horizon 2025-W37 — DP: 1 needs action",
        recipients=("a@example.org", "b@example.org"),
        text="plain body",
        html='<p>html body <img src="cid:trend.2025-W37.dp@horizon"></p>',
        chart_png=b"\x89PNG\r\n\x1a\nchart",
        chart_cid="trend.2025-W37.dp@horizon",
        calendar_ics=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        calendar_filename="horizon.ics",
    )
    message = compose_message(mail, SENDER, AS_OF)
    layout = [part.get_content_type() for part in message.walk()]
    assert layout == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/calendar",
    ]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"] == "Mon, 15 Sep 2025 06:00:00 +0000"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_param("method") == "PUBLISH"


def test_an_outbox_that_cannot_be_written_is_a_plain_failure(home: Settings) -> None:
    blocked = home.digests_dir / "outbox"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(DeliveryError, match=f"check that {blocked} is a folder Horizon may"):
        OutboxTransport(blocked).send(EmailMessage(), "x")
    (delivery,) = publish(home, profile="vendor-management").deliveries
    assert delivery.status == "failed"
    assert "cannot write" in delivery.detail and "Nothing was recorded as sent" in delivery.detail


def test_smtp_settings_come_from_the_environment_with_sensible_defaults() -> None:
    assert not load_smtp_settings({}).configured
    assert load_smtp_settings({}).sender == "Horizon <horizon@localhost>"
    settings = load_smtp_settings(
        {"HORIZON_SMTP_HOST": "smtp.example.org", "HORIZON_SMTP_FROM": SENDER}
    )
    assert (settings.address, settings.security, settings.user) == (
        "smtp.example.org:587",
        "starttls",
        None,
    )
    ssl_settings = load_smtp_settings(
        {
            "HORIZON_SMTP_HOST": "smtp.example.org",
            "HORIZON_SMTP_SECURITY": "SSL",
            "HORIZON_SMTP_FROM": SENDER,
            "HORIZON_SMTP_USER": "me",
            "HORIZON_SMTP_PASSWORD": "pw",
        }
    )
    assert (ssl_settings.port, ssl_settings.user) == (465, "me")
    assert "pw" not in repr(ssl_settings)


def test_bad_smtp_settings_are_listed_together() -> None:
    with pytest.raises(ConfigError) as caught:
        load_smtp_settings(
            {
                "HORIZON_SMTP_HOST": "smtp.example.org",
                "HORIZON_SMTP_PORT": "smtp",
                "HORIZON_SMTP_SECURITY": "tls",
                "HORIZON_SMTP_USER": "me",
            }
        )
    assert caught.value.problems == [
        "HORIZON_SMTP_SECURITY: 'tls' is not allowed; use starttls, ssl or none",
        "HORIZON_SMTP_PORT: 'smtp' is not a port number (1-65535)",
        "HORIZON_SMTP_USER and HORIZON_SMTP_PASSWORD: set both to log in, or neither",
        "HORIZON_SMTP_FROM: missing; set the sender address the SMTP server accepts, "
        "e.g. 'Horizon <horizon@example.org>'",
    ]


def test_the_digest_command_prints_the_paths_and_fails_when_a_send_fails(
    home: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = mailbox
    use_smtp(monkeypatch, port)
    handler.data_replies = ["550 5.1.1 No such user"]
    arguments = ["digest", "--week", "2025-W37", "--home", str(home.home), "--send"]
    sources = home.home / "sources.yaml"
    sources.write_text(SOURCES_YAML, encoding="utf-8")
    result = CliRunner().invoke(app, [*arguments, "--sources", str(sources)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == str(home.digests_dir / "2025-W37.md")
    assert "data-protection (dpo@example.org, privacy@example.org): failed" in result.stderr
    assert "550 5.1.1 No such user" in result.stderr
    again = CliRunner().invoke(app, [*arguments, "--sources", str(sources)])
    assert again.exit_code == 0, again.output
    assert "data-protection (dpo@example.org, privacy@example.org): sent" in again.stderr
    assert "vendor-management (vendors@example.org): already sent" in again.stderr
    assert len(handler.messages) == 2


def test_the_digest_command_rejects_a_bad_week_and_an_unknown_profile(home: Settings) -> None:
    base = ["digest", "--home", str(home.home)]
    result = CliRunner().invoke(app, [*base, "--week", "2025-37"])
    assert result.exit_code == 2 and "write it as YYYY-Www" in result.stderr
    result = CliRunner().invoke(app, [*base, "--week", "2025-W37", "--profile", "legal"])
    assert result.exit_code == 2
    assert "no profile named 'legal'; known profiles: data-protection" in result.stderr


SOURCES_YAML = "sources:\n" + "".join(
    f"  - id: {s.id}\n    name: {s.name}\n    publisher: {s.publisher}\n"
    f"    category: regulator\n    jurisdiction: {s.jurisdiction}\n    kind: rss\n"
    f"    url: {s.url}\n"
    for s in SOURCES
)

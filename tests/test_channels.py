"""Channels besides email, against real HTTP receivers on loopback: Apprise's json:// (standing
in for Slack, whose plugin posts only to Slack's own host) and its own workflows:// plugin for
Microsoft Teams over HTTPS, signed webhooks, exactly-once delivery across reruns, retries of a
failed send, the outbox for replays, rules that mute or pin, per-team feeds, and the alert that
replaces an empty digest when every source failed."""

from __future__ import annotations

import email
import json
import ssl
import threading
from collections.abc import Iterator
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest
from test_deliver import PROFILES, certificate  # noqa: F401  (a fixture)
from test_digest import AS_OF, SOURCES, W37, seed_week
from typer.testing import CliRunner

from horizon.channels.message import CHAT_LIMIT, chat_message
from horizon.channels.publish import publish_channels
from horizon.channels.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify,
)
from horizon.config import Channel, ConfigError, Profile, Rules, Settings, load_profiles
from horizon.deliver import DeliveryLedger
from horizon.digest import PublishReport, build_digest, publish_week
from horizon.fetch import FetchOutcome
from horizon.item import ControlTag, Item, Tags
from horizon.rules import judge
from horizon.state import IngestCounts, StateDB

SECRET = "whsec-test-0123456789"


class Receiver:
    """Records every POST; answers `failures` 500s first, then 200."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers.items()), body))
                    failing = receiver.failures > 0
                    receiver.failures -= 1 if failing else 0
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    recorded = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorded.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def channel_profiles(port: int, events: str = "digest") -> str:
    return PROFILES.replace(
        "    controls: [DATA-PRIVACY, TRANSPARENCY]\n",
        "    controls: [DATA-PRIVACY, TRANSPARENCY]\n"
        "    channels:\n"
        f"      - name: team-chat\n        url: json://127.0.0.1:{port}/chat\n"
        f"      - name: grc\n        kind: webhook\n        url: http://127.0.0.1:{port}/hook\n"
        f"        secret: ${{HORIZON_TEST_WEBHOOK_SECRET}}\n        events: {events}\n"
        "        min_score: 0.5\n",
    )


@pytest.fixture
def home(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings.home.mkdir(parents=True)
    seed_week(StateDB(settings.state_db))
    monkeypatch.setenv("HORIZON_TEST_WEBHOOK_SECRET", SECRET)
    return settings


def publish(settings: Settings, **options: Any) -> PublishReport:
    return publish_week(StateDB(settings.state_db), W37, SOURCES, settings, AS_OF, **options)


def by_channel(report: PublishReport) -> dict[str, str]:
    return {f"{d.profile}/{d.channel}": d.status for d in report.deliveries}


def test_the_chat_message_fits_the_limit_escapes_publisher_text_and_links_only_the_web() -> None:
    entries = [
        {
            "id": f"i{number}",
            "title": f"Rule {number} *bold* [x](javascript:alert(1)) " + "long words " * 30,
            "url": "javascript:alert(1)" if number == 0 else f"https://example.org/{number}",
            "publisher": "@channel <b>Regulator</b>",
            "action": None,
            "controls": [],
        }
        for number in range(40)
    ]
    record = {
        "week": "2025-W37",
        "profile": {"name": "dp", "title": "Data protection"},
        "counts": {"need_action": 2, "relevant": 40},
        "coverage": {"checked": 6, "failed": [{}]},
        "top_changes": entries,
    }
    message = chat_message(record, "https://horizon.example.org/digest?week=2025-W37")
    assert len(message.body) <= CHAT_LIMIT
    assert "2 need action · 40 relevant · 6 sources checked (1 failed)" in message.body
    assert "more in the full digest" in message.body
    assert message.body.rstrip().endswith("https://horizon.example.org/digest?week=2025-W37")
    assert "](javascript" not in message.body and "\\[x\\]\\(javascript" in message.body
    assert "<b>" not in message.body and "\\@channel" in message.body
    assert "](https://example.org/1)" in message.body


def test_a_secret_written_in_profiles_yaml_is_refused_and_one_from_the_environment_is_used(
    tmp_path: Path,
) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(
        "profiles:\n  - name: dp\n    channels:\n      - name: slack\n"
        "        url: slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_profiles(path)
    assert "holds a password or token; put it in an environment variable" in str(refused.value)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in str(refused.value).split("input_value")[0]
    path.write_text(
        "profiles:\n  - name: dp\n    channels:\n      - name: hook\n        kind: webhook\n"
        "        url: https://grc.example.org/h\n        secret: s3cret\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"must name an environment variable as \$\{NAME\}"):
        load_profiles(path)


def test_horizon_profiles_checks_channel_urls_without_printing_their_secrets(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import horizon.cli  # noqa: F401  (registers the commands)
    from horizon.cli.common import app

    settings.home.mkdir(parents=True)
    (settings.home / "profiles.yaml").write_text(
        "profiles:\n  - name: dp\n    channels:\n      - name: slack\n"
        "        url: slack://${HORIZON_TEST_SLACK}/#compliance\n"
        "      - name: teams\n        url: ${HORIZON_TEST_TEAMS}\n",
        encoding="utf-8",
    )
    tokens = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    monkeypatch.setenv("HORIZON_TEST_SLACK", tokens)
    monkeypatch.delenv("HORIZON_TEST_TEAMS", raising=False)
    result = CliRunner().invoke(app, ["profiles", "--home", str(settings.home), "--json"])
    assert result.exit_code == 0, result.output
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in result.output
    channels = {c["channel"]: c for c in json.loads(result.stdout)[0]["channels"]}
    assert channels["slack"]["status"] == "ok" and channels["slack"]["shown"].startswith("slack://")
    assert channels["teams"]["status"] == "not set"
    assert "HORIZON_TEST_TEAMS is not set" in channels["teams"]["detail"]


def test_a_signature_verifies_and_a_changed_body_or_an_old_timestamp_does_not() -> None:
    body = b'{"event": "digest"}'
    signature = sign(SECRET, 1_700_000_000, body)
    assert verify(SECRET, "1700000000", signature, body, now=1_700_000_100)
    assert not verify(SECRET, "1700000000", signature, body + b" ", now=1_700_000_100)
    assert not verify("other", "1700000000", signature, body, now=1_700_000_100)
    assert not verify(SECRET, "1700000000", signature, body, now=1_700_001_000)


def test_each_channel_gets_the_digest_once_signed_and_a_rerun_sends_nothing_again(
    home: Settings, receiver: tuple[Receiver, int]
) -> None:
    recorded, port = receiver
    (home.home / "profiles.yaml").write_text(channel_profiles(port), encoding="utf-8")
    first = publish(home, profile="data-protection")
    assert by_channel(first) == {
        "data-protection/email": "sent",
        "data-protection/team-chat": "sent",
        "data-protection/grc": "sent",
    }, first.deliveries
    chat = [r for r in recorded.requests if r[0] == "/chat"]
    hook = [r for r in recorded.requests if r[0] == "/hook"]
    assert len(chat) == 1 and len(hook) == 1
    posted = json.loads(chat[0][2])
    assert posted["title"] == "Horizon 2025-W37 — Data protection team"
    assert "need action" in posted["message"] and "sources checked" in posted["message"]
    _, headers, body = hook[0]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    event = json.loads(body)
    assert event["event"] == "digest" and event["digest"]["week"] == "2025-W37"
    assert event["delivery"] == headers[DELIVERY_HEADER]
    second = publish(home, profile="data-protection")
    assert set(by_channel(second).values()) == {"already sent"}
    assert len(recorded.requests) == 2


def test_a_failed_send_is_retried_by_the_next_run_and_never_recorded_as_sent(
    home: Settings, receiver: tuple[Receiver, int]
) -> None:
    recorded, port = receiver
    (home.home / "profiles.yaml").write_text(channel_profiles(port), encoding="utf-8")
    profile = load_profiles(home.home / "profiles.yaml").named("data-protection")
    state = StateDB(home.state_db)
    publish(home, send=False)
    record = json.loads(_record(home, profile))
    ledger = DeliveryLedger(state)
    recorded.failures = 100
    failed = publish_channels(ledger, profile, record, None, retry_delays=(0.01, 0.01))
    assert [d.status for d in failed] == ["failed", "failed"]
    assert "answered 500" in failed[1].detail and "3 attempts" in failed[1].detail
    assert ledger.get("2025-W37", "data-protection:grc").status == "failed"  # type: ignore[union-attr]
    recorded.failures = 0
    retried = publish_channels(ledger, profile, record, None, retry_delays=(0.01,))
    assert [d.status for d in retried] == ["sent", "sent"]
    webhook_ids = {h[DELIVERY_HEADER] for path, h, _ in recorded.requests if path == "/hook"}
    assert len(webhook_ids) == 1, "a repeated delivery keeps its delivery id"


def _record(home: Settings, profile: Profile) -> str:
    return (home.digests_dir / profile.name / "2025-W37.json").read_text(encoding="utf-8")


def test_item_events_post_one_signed_event_per_high_impact_item(
    home: Settings, receiver: tuple[Receiver, int]
) -> None:
    recorded, port = receiver
    (home.home / "profiles.yaml").write_text(channel_profiles(port, "items"), encoding="utf-8")
    report = publish(home, profile="data-protection")
    hooks = [json.loads(body) for path, _, body in recorded.requests if path == "/hook"]
    assert hooks and {event["event"] for event in hooks} == {"item"}
    ids = [event["item"]["id"] for event in hooks]
    assert len(ids) == len(set(ids))
    assert all(max(c["score"] for c in e["item"]["controls"]) >= 0.5 for e in hooks)
    assert sum(1 for d in report.deliveries if d.channel.startswith("grc/")) == len(ids)
    publish(home, profile="data-protection")
    assert len([r for r in recorded.requests if r[0] == "/hook"]) == len(ids)


class TlsReceiver(Receiver):
    pass


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[tuple[Receiver, int]]:  # noqa: F811
    recorded = TlsReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorded.handler())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_teams_gets_an_adaptive_card_through_apprises_own_workflows_plugin(
    home: Settings,
    tls_receiver: tuple[Receiver, int],
    certificate: tuple[Path, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded, port = tls_receiver
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    monkeypatch.setenv("HORIZON_TEST_TEAMS", f"workflows://127.0.0.1:{port}/flow123/sig456/")
    (home.home / "profiles.yaml").write_text(
        PROFILES.replace(
            "    controls: [THIRD-PARTY]\n",
            "    controls: [THIRD-PARTY]\n    channels:\n      - name: teams\n"
            "        url: ${HORIZON_TEST_TEAMS}\n",
        ),
        encoding="utf-8",
    )
    report = publish(home, profile="vendor-management")
    assert by_channel(report)["vendor-management/teams"] == "sent", report.deliveries
    ((path, _, body),) = recorded.requests
    assert "/workflows/flow123/" in path and "sig=sig456" in path
    card = json.dumps(json.loads(body))
    assert "AdaptiveCard" in card and "Vendor management" in card


def test_a_replay_writes_each_channel_message_to_the_outbox_and_sends_nothing(
    home: Settings, receiver: tuple[Receiver, int]
) -> None:
    recorded, port = receiver
    (home.home / "profiles.yaml").write_text(channel_profiles(port), encoding="utf-8")
    publish(home, profile="data-protection", to_outbox=True)
    outbox = home.digests_dir / "outbox"
    chat = (outbox / "2025-W37-data-protection.team-chat.md").read_text(encoding="utf-8")
    assert "need action" in chat
    hook = json.loads((outbox / "2025-W37-data-protection.grc.json").read_text(encoding="utf-8"))
    assert hook["event"] == "digest" and hook["delivery"]
    assert recorded.requests == []


def item(title: str, publisher: str = "ICO", controls: tuple[str, ...] = ()) -> Item:
    return Item(
        id=title,
        title=title,
        publisher=publisher,
        content_hash="x",
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id=c, score=0.9, evidence="") for c in controls],
            type="guidance",
        ),
    )


def test_always_rules_pin_and_win_over_never_rules_which_mute_by_phrase_publisher_or_type() -> None:
    rules = Rules.model_validate(
        {
            "never": {"phrases": ["webinar"], "publishers": ["Hacker News"], "types": ["report"]},
            "always": {"instruments": ["Colorado AI Act"], "controls": ["PROHIBITED-PRACTICES"]},
        }
    )
    assert judge(item("ICO webinar on cookies"), rules).verdict == "muted"  # type: ignore[union-attr]
    assert judge(item("A story", "Hacker News (hnrss)"), rules).verdict == "muted"  # type: ignore[union-attr]
    assert judge(item("Colorado AI Act webinar"), rules).verdict == "pinned"  # type: ignore[union-attr]
    assert judge(item("Colorado AI Actions"), rules) is None
    banned = item("Ban list", controls=("PROHIBITED-PRACTICES",))
    assert judge(banned, rules).rule == "always: control PROHIBITED-PRACTICES"  # type: ignore[union-attr]


def test_muted_items_are_counted_in_coverage_pinned_ones_lead_and_nothing_is_deleted(
    home: Settings,
) -> None:
    state = StateDB(home.state_db)
    plain = build_digest(state, W37, SOURCES, as_of=AS_OF)
    titles = [entry.item.title for entry in plain.entries]
    muted_title, pinned_title = titles[0], titles[-1]
    rules = Rules.model_validate(
        {"never": {"phrases": [muted_title]}, "always": {"phrases": [pinned_title]}}
    )
    ruled = build_digest(state, W37, SOURCES, as_of=AS_OF, rules=rules)
    assert muted_title not in [entry.item.title for entry in ruled.entries]
    assert ruled.top[0].item.title == pinned_title and ruled.top[0].pinned_by
    assert "1 item muted by rules." in ruled.coverage.statement
    assert len(state.items_in_window(W37.start, W37.end)) == len(
        StateDB(home.state_db).items_in_window(W37.start, W37.end)
    )
    assert build_digest(state, W37, SOURCES, as_of=AS_OF).entries[0].item.title == muted_title


def test_when_every_source_failed_a_coverage_alert_goes_instead_of_an_empty_digest(
    home: Settings,
) -> None:
    (home.home / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    state = StateDB(home.state_db)
    run_id = state.start_run("live", AS_OF)
    for source in SOURCES:
        failure = FetchOutcome(source=source.id, outcome="failed", error="connection refused")
        state.record_check(run_id, failure, IngestCounts(), AS_OF)
    state.finish_run(run_id, "completed", {})
    report = publish(home, profile="data-protection")
    statuses = {d.profile: (d.status, d.detail) for d in report.deliveries}
    assert statuses["data-protection"][0] == "skipped"
    assert "every one of the 7 sources failed" in statuses["data-protection"][1]
    assert statuses["data-protection.coverage-alert"][0] == "sent"
    (alert,) = (home.digests_dir / "outbox").glob("*.eml")
    message = email.message_from_bytes(alert.read_bytes(), policy=policy.default)
    assert "ALERT, no source could be checked" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "connection refused" in body.get_content()
    assert DeliveryLedger(state).get("2025-W37", "data-protection") is None


def test_each_profile_gets_atom_and_json_feeds_of_its_digests_and_items(home: Settings) -> None:
    (home.home / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    publish(home, send=False)
    folder = home.digests_dir / "data-protection"
    atom = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not atom.bozo and atom.entries[0].link == "2025-W37.html"
    digests = json.loads((folder / "feed.json").read_text(encoding="utf-8"))
    assert digests["version"] == "https://jsonfeed.org/version/1.1"
    assert digests["items"][0]["url"] == "2025-W37.html"
    items = json.loads((folder / "items.json").read_text(encoding="utf-8"))
    assert items["items"] and all(i["url"].startswith("https://") for i in items["items"])
    assert not feedparser.parse((folder / "items.xml").read_bytes()).bozo
    everything = json.loads((home.digests_dir / "items.json").read_text(encoding="utf-8"))
    assert len(everything["items"]) >= len(items["items"])


def test_channel_names_must_differ_within_a_profile() -> None:
    with pytest.raises(ValueError, match="channel name 'a' is used twice"):
        Profile(
            name="dp",
            channels=[Channel(name="a", url="json://127.0.0.1/x")] * 2,
        )


def test_the_test_command_sends_a_test_event_and_reports_each_channel(
    home: Settings, receiver: tuple[Receiver, int]
) -> None:
    import horizon.cli  # noqa: F401
    from horizon.cli.common import app

    recorded, port = receiver
    (home.home / "profiles.yaml").write_text(channel_profiles(port), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["channels", "test", "data-protection", "--home", str(home.home), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["sent", "sent"]
    hook = next(body for path, _, body in recorded.requests if path == "/hook")
    assert json.loads(hook)["event"] == "test"


def test_the_workspace_serves_each_team_feed_to_a_token_and_refuses_without_one(
    home: Settings,
) -> None:
    from fastapi.testclient import TestClient

    from horizon.embed import HashingEmbedder
    from horizon.runtime import Runtime
    from horizon.web import create_app
    from horizon.workspace import COMMAND_LINE
    from horizon.workspace.models import TokenRequest, UserRequest

    (home.home / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    publish(home, send=False)
    app = create_app(Runtime(home, embedder_override=HashingEmbedder()))
    workspace = app.state.web.workspace
    user = workspace.add_user(
        COMMAND_LINE,
        UserRequest(name="reader", role="viewer", password="correct horse battery staple 42"),
    )
    token = workspace.create_token(user, TokenRequest(label="feed reader"))[1]
    with TestClient(app) as client:
        refused = client.get("/feeds/data-protection/items.json")
        assert refused.status_code == 401 and "?token=TOKEN" in refused.text
        assert client.get("/feeds/data-protection/items.json?token=wrong").status_code == 401
        items = client.get(f"/feeds/data-protection/items.json?token={token}")
        assert items.status_code == 200
        assert items.headers["content-type"].startswith("application/feed+json")
        assert items.json()["items"]
        atom = client.get("/feeds/all/feed.xml", headers={"Authorization": f"Bearer {token}"})
        assert atom.status_code == 200 and b"<feed" in atom.content
        assert client.get(f"/feeds/nobody/feed.json?token={token}").status_code == 404
        assert client.get(f"/feeds/all/../../state.db?token={token}").status_code == 404

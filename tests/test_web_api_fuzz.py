"""Schemathesis over the API's own OpenAPI document, authenticated with an admin's token,
against the real app in-process (ASGI): whatever it sends, no answer is a server error and
every answer carries the security headers. A fixed seed and a bounded number of examples per
operation keep it short and repeatable; `HORIZON_FUZZ_EXAMPLES` raises the count for a longer
run."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation

from horizon.config import load_settings
from horizon.embed import HashingEmbedder
from horizon.instruments.obligation_proposals import ObligationProposals
from horizon.instruments.obligations import ObligationProposal
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.readiness.supplier_flags import SupplierFlagProposals
from horizon.readiness.suppliers import SupplierHit
from horizon.runtime import Runtime
from horizon.web import create_app
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagRequest, TokenRequest, UserRequest

EXAMPLES = int(os.environ.get("HORIZON_FUZZ_EXAMPLES", "10"))


@dataclass
class FuzzSite:
    app: FastAPI
    workspace: Workspace


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzSite]:
    home = Path(tmp_path_factory.mktemp("fuzz")) / "home"
    runtime = Runtime(load_settings(home=home, env={}), embedder_override=HashingEmbedder())
    title = "ICO guidance on AI chatbots"
    item = Item(
        id="ico-chatbots",
        title=title,
        summary="Chatbots and personal data.",
        url="https://ico.org.uk/chatbots/",
        publisher="ICO",
        published=datetime(2025, 9, 10, tzinfo=UTC),
        source="ico-news",
        content_hash=content_hash(title, ""),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="DATA-PRIVACY", score=0.8, evidence=title)],
            type="guidance",
            jurisdiction="UK",
        ),
    )
    runtime.store.index.upsert([item], runtime.embedder.embed([item.text()]))
    runtime.store.state.save_new_items([item], datetime(2025, 9, 11, tzinfo=UTC))
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    ada = workspace.add_user(
        COMMAND_LINE, UserRequest(name="ada", role="admin", password="a long enough password")
    )
    workspace.raise_flag(
        ada,
        "ico-chatbots",
        FlagRequest(
            controls=["DATA-PRIVACY"],
            severity="low",
            owner="DPO",
            due=date(2025, 10, 1),
            rationale="Personal data.",
        ),
    )
    # Open proposals numbered 1, so the decision calls reach real ones too.
    state = runtime.store.state
    ObligationProposals(state).add(
        [
            ObligationProposal(
                item_id="ico-chatbots",
                instrument_id="uk-dua",
                control="DATA-PRIVACY",
                who="deployer",
                what="Tell users they are talking to a chatbot",
                from_date=date(2026, 6, 19),
                evidence="Chatbots and personal data.",
            )
        ]
    )
    SupplierFlagProposals(state).add(
        [
            SupplierHit(
                item_id="ico-chatbots",
                title=title,
                url=item.url,
                system_id="chat",
                system_name="customer chat",
                vendor="OpenAI",
                model="gpt-4o",
                kind="retirement",
                date=date(2026, 3, 15),
                evidence="gpt-4o retires on 15 March 2026.",
                matched="gpt-4o",
            )
        ],
        [],
    )
    yield FuzzSite(app, workspace)


def test_no_api_call_gets_a_server_error_and_every_answer_is_protected(
    fuzz_site: FuzzSite,
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_site.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:
        fuzz(operation, fuzz_site.workspace, failures, statuses)
    assert failures == []
    # The calls were authenticated and most were understood: the fuzzing reached the handlers.
    assert statuses[401] == 0 and statuses[200] + statuses[201] > len(operations), statuses


def fuzz(
    operation: APIOperation,
    workspace: Workspace,
    failures: list[str],
    statuses: Counter[int],
) -> None:
    """Call one operation with generated requests; note each server error or unprotected
    answer with the curl command that repeats it."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        # A fresh token for an active admin each time: an earlier example may have disabled
        # the admin (once it had made another) or revoked the token.
        if not workspace.user("ada").active:
            workspace.enable_user(COMMAND_LINE, "ada")
        _, token = workspace.create_token(workspace.user("ada"), TokenRequest(label="fuzz"))
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        statuses[response.status_code] += 1
        policy = str(response.headers.get("content-security-policy"))
        if response.status_code >= 500 or "default-src 'none'" not in policy:
            failures.append(
                f"{operation.label}: {response.status_code} for {case.as_curl_command()}"
            )

    call()

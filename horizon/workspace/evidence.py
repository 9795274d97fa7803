"""A learner's horizon-scanning log, fit to show an assessor.

`build_evidence` gathers, for one user and one period, what Horizon recorded of their scanning:
the sources monitored and how well they were covered, the digests produced and which the user
opened, the items they opened, their triage decisions with rationales, the impact flags they
raised, their verdicts on tags and the searches they saved. Each entry names the knowledge and
skill statements of apprenticeship unit AU0002 it is offered as evidence for (`SECTION_KSBS`,
plus the AU0002 references the control catalogue gives the controls involved).
`render_evidence` writes it as Markdown, CSV or a self-contained HTML page.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined

from horizon.briefing.packs import recorded_packs
from horizon.catalogue import Catalogue
from horizon.config import Source
from horizon.digest import Week, escape_markdown
from horizon.instruments.obligation_proposals import ObligationProposals
from horizon.instruments.proposals import Proposals
from horizon.readiness.supplier_flags import SupplierFlagProposals
from horizon.state import StateDB, utc_now
from horizon.workspace.audit import safe_cell
from horizon.workspace.models import RECORDED_LABELS, STATE_LABELS, Activity, AuditEntry, User
from horizon.workspace.service import Workspace

UNIT = "AU0002"
EvidenceFormat = Literal["md", "csv", "html", "json"]
FORMATS: tuple[EvidenceFormat, ...] = ("md", "csv", "html", "json")
SECTIONS: dict[str, str] = {
    "sources": "Sources monitored and their coverage",
    "digests": "Digests received and opened",
    "opened": "Items opened",
    "triage": "Items triaged: decisions and rationales",
    "flags": "Impact flags raised",
    "suppliers": "Supplier decisions",
    "tags": "Tag verdicts",
    "searches": "Searches saved",
    "stages": "Instrument stages confirmed or rejected",
    "obligations": "Obligations from items confirmed or rejected",
    "briefings": "Board briefings",
}
# Which AU0002 statements each kind of entry is offered as evidence for. K14 and S14 (horizon
# scanning) apply to the whole log; decisions with a rationale add S9, impact flags add K7 and
# S7, stage decisions on instruments K6, board briefings S12. The controls an entry concerns
# add the AU0002 references the catalogue gives them (K11 for monitoring and incidents, for
# instance). Readiness updates are the flags and triage decisions; supplier decisions (a
# retirement's flag proposal confirmed or rejected, with the reason) add K7, S7 and S9;
# obligations an item stated, confirmed into the tracker or rejected with a reason, K6 and S9.
SECTION_KSBS: dict[str, tuple[str, ...]] = {
    "sources": ("K14", "S14"),
    "digests": ("K14", "S14"),
    "opened": ("K14", "S14"),
    "triage": ("K14", "S14", "S9"),
    "flags": ("K14", "S14", "K7", "S7"),
    "suppliers": ("K7", "K14", "S7", "S9", "S14"),
    "tags": ("K14", "S14"),
    "searches": ("K14", "S14"),
    "stages": ("K6", "K14", "S14"),
    "obligations": ("K6", "K14", "S9", "S14"),
    "briefings": ("K14", "S12", "S14"),
}
KSB_EVIDENCE: dict[str, str] = {
    "K14": "where AI regulation, standards and vendor changes are published, and what is "
    "changing: the sources monitored, the digests and items read",
    "S14": "scanning the horizon systematically: sources checked every run, items read, "
    "assessed, searched for and recorded",
    "K7": "the impact of a regulatory or supplier change on the organisation's controls and "
    "systems: impact flags naming the controls affected and the severity, supplier retirements "
    "weighed against the inventory",
    "S7": "turning a change into action: impact flags with an owner, a due date and a rationale",
    "S9": "decisions recorded with their reasons: triage decisions and supplier decisions with "
    "their rationales",
    "K6": "the legal and regulatory instruments and where each stands: stage changes of laws "
    "and standards confirmed or rejected against the item that signalled them",
    "S12": "briefing leaders: the quarter's board briefing packs on readiness, suppliers and "
    "decisions",
}
_KSB_ORDER = re.compile(r"([KSB])(\d+)")
_BRIEFING_NAME = re.compile(r"briefing-(\d{4}-\d{2}-\d{2})-(\d{4}-\d{2}-\d{2})\.md")


@dataclass(frozen=True)
class EvidenceEntry:
    """One line of the log: when, what was done, on which item, why, and the KSBs it shows."""

    section: str
    when: datetime | None
    activity: str
    item_id: str | None
    title: str
    detail: str
    ksbs: tuple[str, ...]


@dataclass(frozen=True)
class SourceCoverage:
    """How one monitored source fared over the period."""

    source: str
    name: str
    checks: int
    ok: int
    unchanged: int
    failed: int
    new_items: int
    last_checked: datetime | None
    last_error: str | None


@dataclass
class EvidenceLog:
    user: User
    start: date
    end: date
    generated: datetime
    coverage: list[SourceCoverage]
    entries: list[EvidenceEntry] = field(default_factory=list)

    @property
    def title(self) -> str:
        return (
            f"Horizon-scanning log — {self.user.name}, {self.start:%-d %b %Y} to "
            f"{self.end:%-d %b %Y}"
        )

    def section(self, key: str) -> list[EvidenceEntry]:
        return [entry for entry in self.entries if entry.section == key]

    @property
    def coverage_statement(self) -> str:
        monitored = len(self.coverage)
        checked = [line for line in self.coverage if line.checks]
        answered = [line for line in checked if line.ok + line.unchanged]
        checks = sum(line.checks for line in checked)
        failed = sum(line.failed for line in checked)
        if not monitored:
            return "No sources are configured."
        return (
            f"{monitored} sources monitored; {len(checked)} checked in the period "
            f"({checks} checks, {failed} failed), {len(answered)} answered at least once "
            f"({100 * len(answered) // monitored}% coverage)."
        )

    def ksb_summary(self) -> list[tuple[str, int, str]]:
        """(code, number of entries, what the log offers as evidence for it), in code order."""
        counts: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            for code in entry.ksbs:
                counts[code] += 1
        return [
            (code, counts[code], KSB_EVIDENCE.get(code, "controls concerned by the entries"))
            for code in sorted(counts, key=_ksb_key)
        ]


# Dates a log can cover, and its longest period: beyond them a request only costs time (a
# century of weeks to look through) or overflows the calendar.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
MAX_PERIOD_DAYS = 3660


def period_problem(start: date, end: date) -> tuple[str, str] | None:
    """(which end, what is wrong) when the period cannot be a log's, else None."""
    for which, day in (("from", start), ("to", end)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            return which, f"a date between {EARLIEST_DAY} and {LATEST_DAY}"
    if end < start:
        return "to", "must not be before 'from'"
    if (end - start).days > MAX_PERIOD_DAYS:
        return "to", f"a log covers at most {MAX_PERIOD_DAYS} days; choose a shorter period"
    return None


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in UTC: both dates are included."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def catalogue_ksbs(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """Control id -> the AU0002 statements the catalogue cross-references it to."""
    found: dict[str, tuple[str, ...]] = {}
    for control in catalogue.controls:
        codes = [
            code.strip()
            for reference in control.references
            if reference.framework == UNIT
            for code in reference.ref.split(",")
            if code.strip()
        ]
        if codes:
            found[control.id] = tuple(codes)
    return found


def build_evidence(
    workspace: Workspace,
    user_name: str,
    start: date,
    end: date,
    sources: Sequence[Source],
    digests_dir: Path,
    control_ksbs: Mapping[str, tuple[str, ...]] | None = None,
    now: datetime | None = None,
) -> EvidenceLog:
    """The log of `user_name`'s horizon scanning from `start` to `end` (both included)."""
    user = workspace.user(user_name)
    since, until = period_bounds(start, end)
    by_control = control_ksbs or {}
    state = workspace.state
    log = EvidenceLog(
        user=user,
        start=start,
        end=end,
        generated=now or utc_now(),
        coverage=_coverage(state, sources, since, until),
    )
    activity = workspace.activity(user.name, since, until)
    audit = workspace.audit(actor=user.name, start=since, end=until)
    item_ids = {entry.item_id for entry in audit if entry.item_id}
    item_ids |= {record.subject for record in activity if record.kind == "item-opened"}
    stored = state.get_items(item_ids)
    titles = {item_id: found.item.title for item_id, found in stored.items()}
    controls = {
        item_id: found.item.tags.control_ids() if found.item.tags else []
        for item_id, found in stored.items()
    }

    for line in log.coverage:
        log.entries.append(
            EvidenceEntry(
                section="sources",
                when=line.last_checked,
                activity="Monitored source",
                item_id=None,
                title=line.name,
                detail=_coverage_detail(line),
                ksbs=SECTION_KSBS["sources"] if line.checks else (),
            )
        )
    log.entries += _digest_entries(digests_dir, activity, since, until)
    log.entries += _stage_entries(state, user.name, since, until)
    log.entries += _obligation_entries(state, user.name, since, until)
    log.entries += _supplier_entries(state, user.name, since, until)
    log.entries += _briefing_entries(state, user.name, digests_dir / "briefing", start, end)
    first_opened: dict[str, Activity] = {}
    for record in activity:
        if record.kind == "item-opened":
            first_opened.setdefault(record.subject, record)
    for item_id, opened in first_opened.items():
        tags = ", ".join(controls.get(item_id, []))
        recorded = f"recorded: {RECORDED_LABELS[opened.how]}"
        log.entries.append(
            EvidenceEntry(
                section="opened",
                when=opened.at,
                activity="Opened item",
                item_id=item_id,
                title=titles.get(item_id, item_id),
                detail=f"{tags}; {recorded}" if tags else recorded,
                ksbs=SECTION_KSBS["opened"],
            )
        )
    for change in audit:
        evidence = _audit_line(change, titles, controls, by_control)
        if evidence is not None:
            log.entries.append(evidence)
    log.entries.sort(key=lambda entry: (list(SECTIONS).index(entry.section), entry.when or until))
    return log


def _coverage(
    state: StateDB, sources: Sequence[Source], since: datetime, until: datetime
) -> list[SourceCoverage]:
    with state.connect() as connection:
        rows = connection.execute(
            "SELECT source, COUNT(*) AS checks,"
            " SUM(outcome = 'failed') AS failed, SUM(outcome = 'unchanged') AS unchanged,"
            " SUM(new) AS new_items, MAX(checked_at) AS last_checked"
            " FROM source_checks WHERE checked_at >= ? AND checked_at < ? GROUP BY source",
            (since.isoformat(), until.isoformat()),
        ).fetchall()
        errors = {
            row["source"]: row["error"]
            for row in connection.execute(
                "SELECT source, error FROM source_checks WHERE checked_at >= ? AND checked_at < ?"
                " AND outcome = 'failed' ORDER BY checked_at",
                (since.isoformat(), until.isoformat()),
            )
        }
    checks = {row["source"]: row for row in rows}
    lines = []
    for source in sources:
        row = checks.get(source.id)
        count = row["checks"] if row else 0
        failed = row["failed"] if row else 0
        unchanged = row["unchanged"] if row else 0
        lines.append(
            SourceCoverage(
                source=source.id,
                name=source.name,
                checks=count,
                ok=count - failed - unchanged,
                unchanged=unchanged,
                failed=failed,
                new_items=row["new_items"] if row else 0,
                last_checked=datetime.fromisoformat(row["last_checked"]) if row else None,
                last_error=errors.get(source.id),
            )
        )
    return lines


def _coverage_detail(line: SourceCoverage) -> str:
    if not line.checks:
        return "not checked in this period"
    detail = (
        f"{line.checks} checks: {line.ok} OK, {line.unchanged} unchanged, {line.failed} failed;"
        f" {line.new_items} new items"
    )
    return f"{detail}; last failure: {line.last_error}" if line.last_error else detail


def _digest_entries(
    digests_dir: Path,
    activity: Sequence[Activity],
    since: datetime,
    until: datetime,
) -> list[EvidenceEntry]:
    opened: dict[str, datetime] = {}
    how: dict[str, str] = {}
    for record in activity:
        if record.kind == "digest-opened":
            opened.setdefault(record.subject, record.at)
            how.setdefault(record.subject, RECORDED_LABELS[record.how])
    entries = []
    week = Week.containing(since)
    while week.start < until:
        written = sorted(
            path.relative_to(digests_dir).as_posix()
            for pattern in (f"{week.label}.*", f"*/{week.label}.*")
            for path in digests_dir.glob(pattern)
            if path.suffix in (".html", ".md") and path.parent.name != "outbox"
        )
        if written or week.label in opened:
            received = f"received ({', '.join(written)})" if written else "not written to this home"
            seen = (
                f"opened {opened[week.label]:%-d %b %Y %H:%M} (recorded: {how[week.label]})"
                if week.label in opened
                else ""
            )
            entries.append(
                EvidenceEntry(
                    section="digests",
                    when=opened.get(week.label, week.end),
                    activity=f"Weekly digest {week.label}",
                    item_id=None,
                    title=f"Digest for week {week.label}",
                    detail="; ".join(part for part in (received, seen) if part),
                    ksbs=SECTION_KSBS["digests"],
                )
            )
        week = Week.containing(week.end)
    return entries


class _Decided(Protocol):
    """Any kind of proposal a learner decides (stage, obligation, supplier flag)."""

    @property
    def decided_by(self) -> str | None: ...

    @property
    def decided_at(self) -> datetime | None: ...


def _decided_in_period(
    proposal: _Decided, user_name: str, since: datetime, until: datetime
) -> datetime | None:
    """When the learner decided the proposal, if they did within the period."""
    decided = proposal.decided_at
    if proposal.decided_by != user_name or decided is None or not since <= decided < until:
        return None
    return decided


def _with_rationale(evidence: str, rationale: str) -> str:
    return f"{evidence}; rationale: {rationale}" if rationale else evidence


def _stage_entries(
    state: StateDB, user_name: str, since: datetime, until: datetime
) -> list[EvidenceEntry]:
    """The stage proposals the learner confirmed or rejected in the period."""
    entries = []
    for proposal in Proposals(state).find():
        decided = _decided_in_period(proposal, user_name, since, until)
        if decided is None:
            continue
        when = f" on {proposal.date.isoformat()}" if proposal.date else ""
        entries.append(
            EvidenceEntry(
                section="stages",
                when=decided,
                activity=f"Stage {proposal.status}: "
                f"{proposal.instrument_id} {proposal.stage}{when}",
                item_id=proposal.item_id,
                title=proposal.instrument_id,
                detail=_with_rationale(proposal.evidence, proposal.rationale),
                ksbs=SECTION_KSBS["stages"],
            )
        )
    return entries


def _obligation_entries(
    state: StateDB, user_name: str, since: datetime, until: datetime
) -> list[EvidenceEntry]:
    """The obligations stated by items that the learner confirmed or rejected in the period."""
    entries = []
    for proposal in ObligationProposals(state).find():
        decided = _decided_in_period(proposal, user_name, since, until)
        if decided is None:
            continue
        entries.append(
            EvidenceEntry(
                section="obligations",
                when=decided,
                activity=f"Obligation {proposal.status}: {proposal.instrument_id} "
                f"{proposal.control}, {proposal.who} from {proposal.from_date.isoformat()}",
                item_id=proposal.item_id,
                title=proposal.what,
                detail=_with_rationale(proposal.evidence, proposal.rationale),
                ksbs=SECTION_KSBS["obligations"],
            )
        )
    return entries


def _supplier_entries(
    state: StateDB, user_name: str, since: datetime, until: datetime
) -> list[EvidenceEntry]:
    """The supplier watch's flag proposals the learner confirmed or rejected in the period."""
    entries = []
    for proposal in SupplierFlagProposals(state).find():
        decided = _decided_in_period(proposal, user_name, since, until)
        if decided is None:
            continue
        outcome = (
            f"raised impact flag {proposal.flag_id}"
            if proposal.status == "confirmed"
            else "no flag"
        )
        entries.append(
            EvidenceEntry(
                section="suppliers",
                when=decided,
                activity=f"Supplier change {proposal.status}: {proposal.vendor} {proposal.model} "
                f"{proposal.kind} on {proposal.date.isoformat()}, {outcome}",
                item_id=proposal.item_id,
                title=f"affects: {proposal.system_name}",
                detail=proposal.note,
                ksbs=SECTION_KSBS["suppliers"],
            )
        )
    return entries


def _briefing_entries(
    state: StateDB, user_name: str, folder: Path, start: date, end: date
) -> list[EvidenceEntry]:
    """The board briefings whose period overlaps the log's: every pack recorded in the run
    state (wherever it was written) by this learner or by the weekly run, and any unrecorded
    pack in the home's briefing folder. A pack written again counts once, at its last write."""
    packs: dict[Path, tuple[date, date, datetime, list[Path]]] = {}
    for record in recorded_packs(state):
        if record.written_by not in (None, user_name):
            continue
        markdown = next((path for path in record.paths if path.suffix == ".md"), record.paths[0])
        packs[markdown] = (record.start, record.end, record.written_at, list(record.paths))
    for path in sorted(folder.glob("briefing-*.md")):
        match = _BRIEFING_NAME.fullmatch(path.name)
        if match is None or path.resolve() in packs:
            continue
        siblings = sorted(folder.glob(f"{path.stem}.*"))
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        packs[path.resolve()] = (
            date.fromisoformat(match[1]),
            date.fromisoformat(match[2]),
            written,
            siblings,
        )
    entries = []
    for first, last, written, files in packs.values():
        if last < start or first > end:
            continue
        names = ", ".join(str(path) for path in files if path.is_file())
        entries.append(
            EvidenceEntry(
                section="briefings",
                when=written,
                activity=f"Board briefing {first} to {last}",
                item_id=None,
                title=f"Briefing pack for {first:%-d %b %Y} to {last:%-d %b %Y}",
                detail=f"written: {names}" if names else "written; the files have since moved",
                ksbs=SECTION_KSBS["briefings"],
            )
        )
    return entries


def _audit_line(
    entry: AuditEntry,
    titles: Mapping[str, str],
    controls: Mapping[str, list[str]],
    by_control: Mapping[str, tuple[str, ...]],
) -> EvidenceEntry | None:
    """The evidence line for one audited change, or None for changes that are not scanning
    work (users, tokens, comments)."""

    def ksbs(section: str, concerned: Iterable[str] = ()) -> tuple[str, ...]:
        codes = set(SECTION_KSBS[section])
        for control in concerned:
            codes.update(by_control.get(control, ()))
        return tuple(sorted(codes, key=_ksb_key))

    item_id = entry.item_id
    title = titles.get(item_id, item_id or "") if item_id else entry.subject
    after, before = entry.after or {}, entry.before or {}
    if entry.action == "triage.move":
        move = (
            f"{STATE_LABELS.get(str(before.get('state')), '?')} → "
            f"{STATE_LABELS.get(str(after.get('state')), '?')}"
        )
        return EvidenceEntry(
            "triage",
            entry.at,
            f"Triage: {move}",
            item_id,
            title,
            str(after.get("rationale") or ""),
            ksbs("triage", controls.get(item_id or "", [])),
        )
    if entry.action == "flag.raise":
        flagged = list(after.get("controls") or [])
        detail = (
            f"{after.get('severity')} severity on {', '.join(flagged)}; owner "
            f"{after.get('owner')}, due {after.get('due')}. {after.get('rationale')}"
        )
        return EvidenceEntry(
            "flags",
            entry.at,
            f"Raised impact {entry.subject}",
            item_id,
            title,
            detail,
            ksbs("flags", flagged),
        )
    if entry.action in ("tag.confirm", "tag.reject"):
        control = str(after.get("control"))
        return EvidenceEntry(
            "tags",
            entry.at,
            f"Tag {control} {after.get('verdict')}",
            item_id,
            title,
            "",
            ksbs("tags", [control]),
        )
    if entry.action == "search.save":
        filters = after.get("filters") or {}
        detail = f"query: {after.get('query')}" + (
            "; filters: " + ", ".join(f"{key}={value}" for key, value in filters.items())
            if filters
            else ""
        )
        return EvidenceEntry(
            "searches", entry.at, "Saved search", None, entry.subject, detail, ksbs("searches")
        )
    return None


def _ksb_key(code: str) -> tuple[str, int]:
    match = _KSB_ORDER.match(code)
    return (match.group(1), int(match.group(2))) if match else (code, 0)


def render_evidence(log: EvidenceLog, fmt: EvidenceFormat) -> str:
    if fmt == "csv":
        return _render_csv(log)
    if fmt == "json":
        return json.dumps(evidence_json(log), ensure_ascii=False, indent=2) + "\n"
    environment = Environment(
        loader=PackageLoader("horizon.workspace", "templates"),
        autoescape=fmt == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["cell"] = lambda text: escape_markdown(" ".join(str(text).split()))
    environment.filters["moment"] = lambda value: f"{value:%Y-%m-%d %H:%M}" if value else "—"
    template = environment.get_template(f"evidence.{fmt}.j2")
    return template.render(log=log, sections=SECTIONS, unit=UNIT)


def evidence_json(log: EvidenceLog) -> dict[str, Any]:
    """The log as data, for tools that file or check it: the same entries as the other
    formats, each with its section's heading and its KSB codes, plus coverage and the KSB
    summary."""
    return {
        "learner": log.user.name,
        "unit": UNIT,
        "from": log.start.isoformat(),
        "to": log.end.isoformat(),
        "generated": log.generated.isoformat(),
        "coverage_statement": log.coverage_statement,
        "coverage": [
            {
                **asdict(line),
                "last_checked": line.last_checked.isoformat() if line.last_checked else None,
            }
            for line in log.coverage
        ],
        "ksb_summary": [
            {"code": code, "entries": count, "evidence": evidence}
            for code, count, evidence in log.ksb_summary()
        ],
        "entries": [
            {
                "section": entry.section,
                "heading": SECTIONS[entry.section],
                "when": entry.when.isoformat() if entry.when else None,
                "activity": entry.activity,
                "item_id": entry.item_id,
                "title": entry.title,
                "detail": entry.detail,
                "ksbs": list(entry.ksbs),
            }
            for entry in log.entries
        ],
    }


def _render_csv(log: EvidenceLog) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["learner", "section", "when", "activity", "item_id", "title", "detail", "ksbs"]
    )
    for entry in log.entries:
        writer.writerow(
            [
                log.user.name,
                SECTIONS[entry.section],
                entry.when.isoformat() if entry.when else "",
                safe_cell(entry.activity),
                safe_cell(entry.item_id or ""),
                safe_cell(entry.title),
                safe_cell(entry.detail),
                "; ".join(f"{UNIT} {code}" for code in entry.ksbs),
            ]
        )
    return buffer.getvalue()

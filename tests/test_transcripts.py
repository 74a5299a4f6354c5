"""Golden transcripts: whole conversations through the real pipeline, compared word for word.

Every tests/transcripts/*.yaml is one test (id = file stem), run on each backend. A file has
`description`, optional `lang` (the contact's language before the first message), `turns`
(`user: text` with the exact `bot:` messages expected, or `advance: {hours: 25}` to move the
frozen clock; a turn may carry a `note`) and `expect` (checked in the database at the end).

Regenerate the `bot:` lists after a catalog change with `UPDATE_GOLDEN=1 pytest
tests/test_transcripts.py`, then read the diff: the runner keeps user turns, notes and expect.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from bot.service import Service
from storage import cases, conversations, counselors
from tests.support import CHANNEL, Family, FrozenClock, flows, read_sql

TRANSCRIPTS = Path(__file__).parent / "transcripts"
FILES = sorted(TRANSCRIPTS.glob("*.yaml"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
USER = "6281100000001"
TOP_KEYS = {"description", "lang", "turns", "expect"}
TURN_KEYS = {"user", "bot", "advance", "note"}
EXPECT_KEYS = {"case", "consent", "conversation", "events"}


# -- reading and writing transcript files ---------------------------------------------------

class _Block(list[str]):
    """A `bot:` list: always one message per item, never squeezed into flow style."""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _short(items: list[Any]) -> bool:
    return all(isinstance(x, str | int | float | bool) or x is None for x in items) \
        and len(repr(items)) < 90


def _dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data,
                                    flow_style=_short(list(data.values())) or None)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_short(data))


def _block(dumper: yaml.SafeDumper, data: _Block) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=False)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dict, _dict)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(_Block, _block)


def dump(script: dict[str, Any]) -> str:
    """YAML a person can read: multi-line texts as literal blocks, keys in their order."""
    return yaml.dump(script, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def load(path: Path) -> dict[str, Any]:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(script, dict), f"{path.name}: a transcript is a mapping"
    assert set(script) <= TOP_KEYS, f"{path.name}: unknown keys {set(script) - TOP_KEYS}"
    assert script.get("description"), f"{path.name}: say in `description` what it shows"
    for i, turn in enumerate(script.get("turns") or []):
        assert isinstance(turn, dict) and set(turn) <= TURN_KEYS, f"{path.name}: turn {i}"
        assert ("user" in turn) != ("advance" in turn), \
            f"{path.name}: turn {i} is either a message (user) or an advance"
    assert set(script.get("expect") or {}) <= EXPECT_KEYS, f"{path.name}: unknown expect keys"
    return script


# -- playing a transcript -------------------------------------------------------------------

def start_language(service: Service, lang: str) -> None:
    """As `lk3 chat --lang` does: a first contact starts in the language asked for."""
    with service.db.begin() as conn:
        contact = conversations.touch_contact(conn, CHANNEL, USER, service.clock())
        conversations.set_language(conn, contact.id, lang)


def play(service: Service, clock: FrozenClock, turns: list[dict[str, Any]]) -> list[list[str]]:
    """What the bot said after each turn ([] after an advance)."""
    fam = Family(service, USER)
    said: list[list[str]] = []
    for turn in turns:
        if "advance" in turn:
            clock.advance(**turn["advance"])
            said.append([])
            continue
        user = turn["user"]
        assert isinstance(user, str), f"quote user text {user!r} so YAML keeps it a string"
        said.append(fam.say(user))
    return said


def mismatch(turns: list[dict[str, Any]], said: list[list[str]]) -> str | None:
    """The first turn where the bot said something else, with a diff; None when all match."""
    for i, (turn, actual) in enumerate(zip(turns, said, strict=True)):
        expected = [] if "advance" in turn else list(turn.get("bot") or [])
        if expected != actual:
            exp = "\n~~~~\n".join(expected).splitlines()
            act = "\n~~~~\n".join(actual).splitlines()
            diff = "\n".join(difflib.unified_diff(exp, act, "expected", "bot said", lineterm=""))
            return (f"turn {i} (user: {turn.get('user', turn.get('advance'))!r}): the bot said "
                    f"something else (messages separated by ~~~~)\n{diff}")
    return None


def update(path: Path, script: dict[str, Any], said: list[list[str]]) -> None:
    for turn, actual in zip(script["turns"], said, strict=True):
        if "advance" not in turn:
            turn["bot"] = _Block(actual)
    new = dump(script)
    if new != path.read_text(encoding="utf-8"):
        path.write_text(new, encoding="utf-8")


# -- what the database holds at the end -----------------------------------------------------

def _rows(service: Service, sql: str) -> list[dict[str, Any]]:
    with service.db.connect() as conn:
        return [r._asdict() for r in read_sql(conn, sql)]


def stored_case(service: Service) -> dict[str, Any] | None:
    with service.db.connect() as conn:
        found = cases.list_cases(conn)
    assert len(found) <= 1, f"one conversation opened {len(found)} cases"
    return vars(found[0]) if found else None


def last_consent(service: Service) -> dict[str, Any] | None:
    rows = _rows(service, "SELECT choice, legal_basis, text_version, language FROM consents "
                          "ORDER BY id DESC")
    return rows[0] if rows else None


def stored_conversation(service: Service) -> dict[str, Any]:
    with service.db.connect() as conn:
        (contact_id,) = conn.execute(text("SELECT id FROM contacts")).one()
        conv = conversations.load(conn, contact_id)
    assert conv is not None, "no conversation was stored"
    return conv._asdict()


def _subset(name: str, wanted: dict[str, Any] | None, actual: dict[str, Any] | None) -> None:
    if wanted is None or actual is None:
        assert wanted == actual, f"{name}: expected {wanted!r}, stored {actual!r}"
        return
    got = {k: actual.get(k) for k in wanted}
    assert got == wanted, f"{name}: expected {wanted!r}, stored {got!r}"


def check_expect(service: Service, expect: dict[str, Any]) -> None:
    if "case" in expect:
        _subset("case", expect["case"], stored_case(service))
    if "consent" in expect:
        _subset("consent", expect["consent"], last_consent(service))
    if "conversation" in expect:
        want = dict(expect["conversation"])
        conv = stored_conversation(service)
        _subset("conversation.answers", want.pop("answers", {}), conv["answers"])
        flags = want.pop("flags", None)
        if flags is not None:
            assert sorted(conv["flags"]) == sorted(flags), f"flags: stored {conv['flags']}"
        _subset("conversation", want, conv)
    if "events" in expect:
        check_events(service, expect["events"])


def check_events(service: Service, wanted: list[str | dict[str, Any]]) -> None:
    """Each wanted audit event is recorded: a kind, or {kind: ..., <data key>: <value>}."""
    recorded = []
    for r in _rows(service, "SELECT kind, data FROM case_events ORDER BY id"):
        data = r["data"] if isinstance(r["data"], dict) else json.loads(r["data"] or "{}")
        recorded.append({**(data or {}), "kind": r["kind"]})
    for want in wanted:
        want = {"kind": want} if isinstance(want, str) else want
        assert any(want.items() <= ev.items() for ev in recorded), \
            f"audit event {want} not recorded; recorded: {[ev['kind'] for ev in recorded]}"


# -- the test -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(path: Path, service: Service, clock: FrozenClock) -> None:
    """The bot says exactly the golden words at every turn and stores what `expect` says.
    As in service, a supervisor is registered (she gets the alerts; without anyone, an
    urgent case's family is told the alert reached nobody: tests/test_p0_family.py)."""
    with service.db.begin() as conn:
        counselors.add(conn, name="Yohana", role="supervisor", now=clock(),
                       accounts=[(CHANNEL, "supervisor-1")])
    script = load(path)
    if script.get("lang"):
        start_language(service, script["lang"])
    said = play(service, clock, script["turns"])
    if UPDATE:
        update(path, script, said)
    else:
        problem = mismatch(script["turns"], said)
        if problem:
            pytest.fail(f"{path.name}: {problem}", pytrace=False)
    check_expect(service, script.get("expect") or {})


def test_transcripts_cover_every_category() -> None:
    """Each of the ten categories ends up in the case of at least one transcript."""
    category = flows().flow.states["category"]
    wanted = {c.value for c in category.choices}
    expected_cases = [(load(p).get("expect") or {}).get("case") or {} for p in FILES]
    found = {c.get("category") for c in expected_cases}
    assert wanted <= found, f"no transcript for {sorted(wanted - found)}"


# -- gaps found while reading the transcripts, fixed by the complete intake (they were strict
# -- xfails until then).

EMERGENCY = "Keselamatan Anda yang utama."
INJURY = "Yang terluka perlu ditolong dulu."


def test_injury_answer_gets_emergency_message_at_once(service: Service) -> None:
    """'Someone is injured' (P0) gets the emergency message and a P0 case in the same turn."""
    fam = Family(service, USER)
    # chat, no danger, agree, adult, domestic violence, myself, Mimika Baru, no kampung
    for answer in ["halo", "1", "3", "1", "2", "2", "1", "1", "LEWATI"]:
        fam.say(answer)
    assert (stored_case(service) or {}).get("priority") != "P0"  # not P0 yet
    reply = fam.say("1")  # risk_injured: yes
    assert any(r.startswith(INJURY) for r in reply)  # the emergency message for an injury
    assert (stored_case(service) or {}).get("priority") == "P0"
    assert "injured" in (stored_case(service) or {})["reasons"]


def test_perpetrator_near_with_weapon_gets_emergency_message_at_once(service: Service) -> None:
    """Perpetrator near and a weapon (P0 together) bring the emergency message in that turn."""
    fam = Family(service, USER)
    for answer in ["halo", "1", "3", "1", "2", "2", "1", "1", "LEWATI", "2"]:
        fam.say(answer)
    assert not any(r.startswith(EMERGENCY) for r in fam.say("1"))  # near alone: P1
    assert (stored_case(service) or {}).get("priority") != "P0"
    reply = fam.say("1")  # weapon: yes
    assert any(r.startswith(EMERGENCY) for r in reply)
    assert (stored_case(service) or {}).get("priority") == "P0"


def test_refusal_after_emergency_does_not_claim_nothing_was_recorded(service: Service) -> None:
    """After danger now, refusing consent must not be told 'we recorded none of your data'."""
    catalog = flows().bundle.catalog
    fam = Family(service, USER)
    for answer in ["halo", "1", "1", "1"]:  # chat, danger now (emergency), safe now -> consent
        fam.say(answer)
    (reply,) = fam.say("3")
    assert stored_case(service) is not None
    plain_refusal = catalog.text("refused", "id").splitlines()[0]
    assert plain_refusal.split(".")[0] not in reply  # "Baik, data Anda tidak kami catat"
    assert reply.startswith(catalog.text("refused.emergency", "id").splitlines()[0][:60])
    assert "kepentingan vital" in reply

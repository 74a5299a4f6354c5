"""The crisis model (flows/crisis_model.py): the second reading of what the lists miss.

The lists were tuned on the corpus; on messages written by people who never saw them they
found two thirds of the danger. These tests hold the model to messages it never saw
(tests/data/crisis_heldout.yaml), prove that reading its file gives what scikit-learn
computes, that the shipped file is the one trained on the shipped corpus, and what a family
and staff see when only the model reads danger.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.flowcli import corpus_path
from bot.cli.flowtrain import MODEL_FILE, fit, train
from flows.crisis import load_crisis_words
from flows.crisis_model import CrisisModel, corpus_hash, examples
from flows.definition import FlowError
from flows.loader import FLOWS_DIR
from flows.types import Inbound, Snapshot
from tests.support import flows

CORPUS = corpus_path()
HELDOUT = CORPUS.parent / "crisis_heldout.yaml"
WORDS = load_crisis_words(FLOWS_DIR / "crisis.yaml")
ENGINE = flows()
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 09:30 WIT, a Monday
# what the lists miss and the model reads (a sexual abuse hint, in Papuan Malay)
HINT = "kalau malam sa takut dia masuk sa pu kamar lagi"


def texts(path: Path) -> list[str]:
    return [t for t, _ in examples(yaml.safe_load(path.read_text(encoding="utf-8")))]


@pytest.fixture(scope="module")
def fitted() -> tuple[CrisisModel, Any]:
    return fit(CORPUS)


def test_reading_the_file_gives_what_scikit_learn_computes(fitted: tuple[CrisisModel, Any]
                                                           ) -> None:
    """The service reads the weights without scikit-learn: the same probabilities for every
    class, on corpus messages, unseen ones and odd ones (empty, emoji, very long, no word
    the model knows)."""
    model, pipeline = fitted
    sample = [*texts(CORPUS)[::7], *texts(HELDOUT), "", "  ", "a", "tolong!!! 😭",
              "zzzz qqqq", "sa " * 400]
    theirs = pipeline.predict_proba(sample)
    for text, row in zip(sample, theirs, strict=True):
        ours = model.probabilities(text)
        assert max(abs(a - b) for a, b in zip(ours, row, strict=True)) < 1e-5, text
    assert model.classes == [str(c) for c in pipeline.classes_]


def test_the_shipped_model_is_trained_on_the_shipped_corpus(fitted: tuple[CrisisModel, Any]
                                                            ) -> None:
    """flows/crisis_model.json is what `lk3 flow train` makes of the corpus today: a corpus
    changed without training again fails here, with the command to run."""
    shipped = CrisisModel.load(MODEL_FILE)
    assert shipped.corpus == corpus_hash(CORPUS), "the corpus changed: run `lk3 flow train`"
    model, _ = fitted
    for text in texts(HELDOUT)[::5]:
        a, b = shipped.probabilities(text), model.probabilities(text)
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5, text


def test_messages_nobody_tuned_for() -> None:
    """On the held-out messages: the lists and the model together find at least 85% of the
    danger (the lists alone about two thirds), with at most 5% false alarms on ordinary
    messages chosen to share danger's words, never fewer P0s than the lists alone, and
    at least 65% of the messages of danger now read as danger now."""
    raw = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    danger = [(d["text"], bool(d.get("imminent"))) for d in raw["danger"]]
    lists = [WORDS.scan(t, model=False) for t, _ in danger]
    both = [WORDS.scan(t) for t, _ in danger]
    found, alone = sum(map(bool, both)), sum(map(bool, lists))
    assert found >= 0.85 * len(danger), (found, len(danger))
    assert found - alone >= 0.15 * len(danger), (found, alone)  # the model's own share
    now = [i for i, (_, urgent) in enumerate(danger) if urgent]
    assert sum(bool(both[i].imminent) for i in now) >= sum(bool(lists[i].imminent) for i in now)
    # danger now answered as now (the emergency message), whatever kind leads: about half
    # before the fourteenth session (103 of 206), 143 after it
    assert sum(bool(both[i].imminent) for i in now) >= 0.65 * len(now), len(now)
    alarms = [t for t in raw["ordinary"] if WORDS.scan(t)]
    assert len(alarms) <= 0.05 * len(raw["ordinary"]), alarms


@pytest.mark.parametrize("text", [
    "bapa kalo mabuk de marah2 terus", "sa pu om suka mabuk tiap sabtu",
    "sa pu kaka suka minum sopi deng teman2", "anak sa yang besar suka mabuk di pangkalan"])
def test_drink_without_blows_is_no_danger(text: str) -> None:
    """Walk O's re-check: "sa pu ade laki2 suka mabuk deng teman2" was read by the model as
    sexual violence (0.88) and a father who shouts when drunk as violence (0.87): the P1
    helplines to a sister asking about her brother's drinking. Not the corpus's messages."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize("text", ["sa su bilang tadi", "nawaripi, sa su bilang tadi",
                                  "kan sa su bilang td kk"])
def test_i_told_you_already_is_no_danger(text: str) -> None:
    """Walk M: a grandmother's "nawaripi, sa su bilang tadi" (Nawaripi, I said so already) at
    the kampung question was read by the model as wanting to die (0.97): the suicide line, a
    P1 case, and her answer lost."""
    assert not WORDS.scan(text), WORDS.scan(text)


def test_a_hint_the_lists_miss_gets_help_and_reaches_staff_as_a_possibility() -> None:
    """The family gets 24-hour numbers in the same turn, in words that fit even if the model
    is wrong ("Bila ada yang tidak aman"), and keeps its place; after consent the case goes to
    staff now as P1 "possible danger, read automatically", never P0 on the model alone."""
    assert not WORDS.scan(HINT, model=False) and WORDS.scan(HINT).model is not None
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}
    snap = Snapshot(ENGINE.flow.name, "category", "id", answers, (), 0, ENGINE.flow.version,
                    None, NOW - timedelta(minutes=1))
    turn = ENGINE.step(snap, Inbound("test", "u1", "m1", text=HINT), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "crisis.p1.maybe" and turn.snapshot.state == "category", keys
    said = ENGINE.bundle.catalog.render(turn.replies[0], "id", {}).text
    assert "Bila ada yang tidak aman" in said and "129" in said  # SAPA, for this reading
    assert "crisis_model" in turn.snapshot.flags and "crisis_now" not in turn.snapshot.flags
    facts = {**turn.snapshot.answers, **{f: "yes" for f in turn.snapshot.flags}}
    triage = ENGINE.bundle.triage.assess(facts)
    assert triage.priority == "P1" and "model_words" in triage.reasons
    assert any(e.kind == "crisis_words" and e.data["model"] for e in turn.events)
    from bot.cli.caseshow import summary  # the console's and `cases show`'s event line
    line = summary(next(e.data for e in turn.events if e.kind == "crisis_words"))
    assert "dibaca otomatis" in line and "model" not in line, line
    lists_only = ENGINE.step(snap, Inbound("test", "u1", "m2", text="sa pu paitua pukul sa"),
                             NOW, "id")
    data = next(e.data for e in lists_only.events if e.kind == "crisis_words")
    assert "model" not in data  # words of the lists: nothing about a model, not even "null"


@pytest.mark.parametrize("text", [
    "sa tra pernah pikir bunuh diri",  # the lists read the negation
    "dia pukul paku di dinding kamar",  # the lists know this everyday use
])
def test_what_the_lists_understood_is_not_read_again(text: str) -> None:
    """A danger phrase the lists cancelled (a negation, an everyday use) is not handed to
    the model, which would read it as danger: the lists understood the message."""
    assert WORDS.reader is not None and WORDS.reader.model.read(text).danger >= 0.8
    assert not WORDS.scan(text)


@pytest.mark.parametrize("text", ["sa mau hidup", "hidup lebih baik"])
def test_short_answers_are_never_read_by_the_model(text: str) -> None:
    """Under `min_words` (four), a message is an answer, not a story: only the lists read it.
    The model alone would take these for danger."""
    assert WORDS.reader is not None and WORDS.reader.min_words == 4
    assert WORDS.reader.model.read(text).danger >= WORDS.reader.threshold
    assert not WORDS.scan(text)


@pytest.mark.parametrize(("setting", "place"), [
    ({"file": "crisis_model.json", "threshold": 2}, "model.threshold"),
    ({"file": "crisis_model.json", "threshold": 0.8, "min_words": 0}, "model.min_words"),
    ({"threshold": 0.8}, "model.file"),
    ({"file": "none.json", "threshold": 0.8}, "not found (make it with `lk3 flow train`)"),
    ({"file": "bad.json", "threshold": 0.8}, "not valid JSON"),
    ({"file": "odd.json", "threshold": 0.8}, "not a crisis model"),
])
def test_a_wrong_model_setting_or_file_is_refused(tmp_path: Path, setting: dict[str, object],
                                                  place: str) -> None:
    raw = yaml.safe_load((FLOWS_DIR / "crisis.yaml").read_text(encoding="utf-8"))
    raw["model"] = setting
    (tmp_path / "crisis.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True),
                                          encoding="utf-8")
    (tmp_path / "crisis_model.json").write_bytes(MODEL_FILE.read_bytes())
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "odd.json").write_text(json.dumps({"classes": ["a"]}), encoding="utf-8")
    with pytest.raises(FlowError, match=r"crisis\.yaml") as err:
        load_crisis_words(tmp_path / "crisis.yaml")
    assert place in str(err.value)


def test_train_writes_a_model_the_service_reads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(yaml.safe_dump({
        "danger": [{"text": "sa dipukul suami tiap malam", "group": "violence"},
                   {"text": "dia pukul sa pake kayu", "group": "violence"},
                   {"text": "sa mau mati saja", "group": "selfharm"},
                   {"text": "sa mau bunuh diri", "group": "selfharm"}],
        "ordinary": ["sa mau tanya jam buka", "sa mau tanya bansos", "terima kasih kaka",
                     "anak sa mau sekolah"]}), encoding="utf-8")
    out = tmp_path / "model.json"
    assert train(corpus, out) == 0
    model = CrisisModel.load(out)
    assert model.corpus == corpus_hash(corpus)
    assert model.read("suami pukul sa tiap malam").group == "violence"


def test_train_without_scikit_learn_says_how_to_get_it(tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from bot.cli.flowtrain import train\n"
            f"sys.exit(train(__import__('pathlib').Path({str(CORPUS)!r}), "
            f"__import__('pathlib').Path({str(out)!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "needs scikit-learn" in done.stderr, done.stderr
    assert not out.exists()


def test_an_answer_to_the_question_is_not_taken_for_the_models_danger() -> None:
    """At the emergency's "Apakah Anda aman sekarang?", "aman skarang, de su keluar rumah" is
    the answer "safe". The model alone reads it as help-now danger; before, the family got
    the crisis text and the whole emergency message again (found in the walk-through with
    "sa aman skarang, dia su tidur", which the model has since learned is no danger)."""
    text = "aman skarang, de su keluar rumah"
    assert WORDS.scan(text).model is not None  # the model's guess, which gives way
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "_return_to": "category"}
    snap = Snapshot(ENGINE.flow.name, "emergency_check", "id", answers, ("crisis_now",), 0,
                    ENGINE.flow.version, None, NOW - timedelta(minutes=1))
    turn = ENGINE.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert turn.snapshot.answers.get("still_in_danger_answer") == "safe"
    assert turn.snapshot.state == "category"
    assert not [r.key for r in turn.replies if r.key.startswith(("crisis.", "emergency"))]


def test_the_model_is_not_heard_once_the_case_is_urgent() -> None:
    """In a conversation that already told of violence (its flags), a reply the model alone
    reads as self-harm, and P0 by its "skarang", brought the suicide emergency message to a
    woman who never hinted at it (a walk-through). Once staff know of danger, the model's
    guess is not heard; the lists still read every message. (The walk-through's own reply,
    "iya kami tinggal serumah, tapi de su baik skarang, de su tra minum lagi", the model
    since learned from the corpus; this one it still misreads.)"""
    text = "skarang de su tra kasar lagi, sa su tra takut"
    scan = WORDS.scan(text)
    assert not scan.matched[1:] and scan.model is not None and scan.imminent  # the guess
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "category": "dv", "who": "self"}
    snap = Snapshot(ENGINE.flow.name, "risk_perpetrator", "id", answers, ("crisis_violence",),
                    0, ENGINE.flow.version, None, NOW - timedelta(minutes=1))
    turn = ENGINE.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert not [k for k in keys if k.startswith(("emergency", "crisis."))], keys
    assert "crisis_now" not in turn.snapshot.flags
    lists = "de su baik skarang, tapi td de pukul sa lagi pake parang"  # the lists: heard
    turn = ENGINE.step(snap, Inbound("test", "u1", "m2", text=lists), NOW, "id")
    assert turn.replies[0].key.startswith("emergency")


@pytest.mark.parametrize("category", [None, "parenting"])
def test_a_story_told_with_an_answer_is_answered_and_heard(category: str | None) -> None:
    """A long message that answers the question and tells of danger only the model reads:
    before, the answer was taken and the story dropped (a property-test run found it at
    "shall we go on?", an interrupt). Now both: the answer, said back, the conversation back
    where it was, and the model's 24-hour numbers. (Not once the case is urgent: above.)"""
    text = "iya. sa pu anak perempuan hamil, ternyata pelakunya om sendiri. iya"
    scan = WORDS.scan(text)
    assert not scan.matched and scan.model is not None  # the model's reading alone
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "_return_to": "category", **({"category": category} if category else {})}
    snap = Snapshot(ENGINE.flow.name, "resume_check", "id", answers, (), 0,
                    ENGINE.flow.version, None, NOW - timedelta(minutes=1))
    turn = ENGINE.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert turn.snapshot.state == "category"  # "continue": back where it was
    keys = [r.key for r in turn.replies]
    assert keys[:2] == ["crisis.p1.maybe", "answer_noted"], keys
    assert any(e.kind == "crisis_words" and e.data.get("model") for e in turn.events)
    said = "\n".join(ENGINE.bundle.catalog.render(r, "id", {}).text for r in turn.replies)
    assert "129" in said  # SAPA, for the sexual violence the model read



def test_a_goodbye_read_by_the_model_reaches_staff_and_its_time_makes_it_p0() -> None:
    """A boy wrote what the model alone reads as wanting to die, then "sa su tulis surat buat
    mama. malam ini sa mo pigi saja" (a walk-through): no case was opened, since the model's
    reading did not count before consent, and the second message was not heard at all, since
    the conversation was urgent already. Words of wanting to die reach staff before consent,
    by the model too; the same kind of danger read again is heard, and its time makes it P0."""
    first_text = "sa su tra kuat lagi kaka, sa mau pigi jauh saja"
    scan = WORDS.scan(first_text)
    assert scan.groups == ("selfharm",) and scan.model is not None and not scan.matched
    first = ENGINE.step(None, Inbound("test", "u1", "m1", text=first_text), NOW, "id")
    assert [e.data["priority"] for e in first.events if e.kind == "case_upsert"] == ["P1"]
    opened = replace(first.snapshot, case_number="LK3-2026-00001")  # as the service does
    second = ENGINE.step(opened, Inbound("test", "u1", "m2", text="sa su tulis surat buat "
                                         "mama. malam ini sa mo pigi saja"),
                         NOW + timedelta(minutes=1), "id")
    assert second.replies[0].key == "emergency.selfharm"
    assert [e.data["priority"] for e in second.events if e.kind == "case_upsert"] == ["P0"]

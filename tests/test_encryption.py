"""Encryption at rest: no family's words in the database files, values bound to their column,
lookups by address, key rotation, and the keys at start-up."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, select, text

from bot.service import Service
from storage import cases, conversations, crypto, keys, queue, rekey
from storage.models import Contact, Conversation, MessageLog, OutboxMessage
from tests.conftest import TEST_KEYS
from tests.dbdump import dump
from tests.support import CHANNEL, FrozenClock, make_service
from tests.test_handoff import INTAKE, Person, add_staff

LK3 = Path(sys.executable).with_name("lk3")
ADDRESS = "6289912345678"
STORY = "sa pu paitua pukul sa di dapur zqxjwv"
KAMPUNG = "Kwamki Qqzzjx"
CODEWORD = "burungkakaktua77x"
NOTE = "ibu takut pulang ke rumah qwzxq"
STAFF = "c1stafqqz"
# the older of the session's keys alone: what wrote the data before the newest was added
OLD_ONLY = crypto.Ring([k for k in keys.parse(TEST_KEYS) if k[0] == "ktest1"])

def intake_with_words(family: Person) -> str:
    """The handoff intake, with a kampung, a codeword and an account of its own."""
    answers = list(INTAKE)
    answers[8], answers[19], answers[20] = KAMPUNG, CODEWORD, STORY
    for answer in answers:
        out = family.say(answer.format(consent="2"))
    assert any("Nomor kasus Anda" in t for t in out), out
    with family.service.db.connect() as conn:
        conv = conversations.load(conn, contact_id(family.service.db, family.user))
    assert conv is not None and conv.answers.get("kampung") == KAMPUNG
    return str(conv.case_number)


def queue_id(conn: Connection, number: str) -> int:
    case = queue.by_number(conn, number)
    assert case is not None
    return case.id


def contact_id(db: Engine, user: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(Contact.id).where(
            Contact.provider_user_id == user)).scalar_one())


def test_no_plaintext_in_the_database_files(sqlite_db: Engine, clock: FrozenClock) -> None:
    """After a real conversation (intake, a counselor's note), the family's words, answers,
    address and the note are in neither the database file nor its write-ahead log."""
    service = make_service(sqlite_db, clock)
    _, sari = add_staff(service, "Sari Wenda", STAFF)
    family = Person(service, ADDRESS)
    number = intake_with_words(family)
    sari.say(f"/ambil {number}")
    assert sari.say(f"/catatan {NOTE}") == [f"Catatan disimpan di {number}."]
    database = Path(str(sqlite_db.url.database))
    stored = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal"))
                      if p.exists())
    assert len(stored) > 100_000
    for secret in (ADDRESS, STORY, KAMPUNG, CODEWORD, NOTE, STAFF, "zqxjwv"):
        assert secret.encode() not in stored, secret
    with sqlite_db.connect() as conn:  # and read through the models, all of it is there
        texts = conn.execute(select(MessageLog.text)).scalars().all()
        notes = [e["data"] for e in cases.events_of(conn, queue_id(conn, number))
                 if e["kind"] == "note"]
    assert STORY in texts and notes == [{"text": NOTE}]
    shown = lk3("cases", "show", number, cwd=database.parent,
                DATABASE_URL=f"sqlite:///{database}", LK3_DATA_KEYS=TEST_KEYS)
    assert shown.returncode == 0, shown.stderr
    assert number in shown.stdout and KAMPUNG in shown.stdout, shown.stdout


def test_no_plaintext_in_any_stored_row(db: Engine, clock: FrozenClock) -> None:
    """On either database (PostgreSQL too, which has no file to read): every row of every
    table as stored, read with plain SQL, holds none of the family's words, address or the
    note, after an intake and a counselor's note."""
    service = make_service(db, clock)
    _, sari = add_staff(service, "Sari Wenda", STAFF)
    number = intake_with_words(Person(service, ADDRESS))
    sari.say(f"/ambil {number}")
    assert sari.say(f"/catatan {NOTE}") == [f"Catatan disimpan di {number}."]
    stored = []
    with db.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            stored += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {name}"))]
    everything = "\n".join(stored)
    assert number in everything and len(stored) > 100  # what is not personal is there
    for secret in (ADDRESS, STORY, KAMPUNG, CODEWORD, NOTE, STAFF, "zqxjwv"):
        assert secret not in everything, secret


def test_a_value_moved_to_another_column_does_not_open(db: Engine, clock: FrozenClock) -> None:
    """A sealed value copied into another column (or changed) fails to open there, never
    reads as some other text."""
    family = Person(make_service(db, clock), ADDRESS)
    family.say("halo")
    with db.begin() as conn:
        conn.execute(text("UPDATE outbox SET payload = (SELECT payload FROM inbox "
                          "ORDER BY id LIMIT 1)"))
    with db.connect() as conn, pytest.raises(crypto.SealError, match=r"outbox\.payload"):
        conn.execute(select(OutboxMessage.payload)).all()
    sealed = crypto.seal(b"messages.text", "halo")
    with pytest.raises(crypto.SealError, match=r"referrals\.reason"):
        crypto.unseal(b"referrals.reason", sealed)
    changed = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(crypto.SealError, match=r"messages\.text"):
        crypto.unseal(b"messages.text", changed)


def test_a_second_message_from_the_same_address_joins_its_conversation(
        service: Service) -> None:
    """Addresses are found by equality though sealed: a second message from the same sender
    continues the same contact and conversation."""
    family = Person(service, ADDRESS)
    family.say("halo")
    family.say("1")
    with service.db.connect() as conn:
        contacts = conn.execute(select(Contact.id, Contact.provider_user_id)).all()
        states = conn.execute(select(Conversation.state)).scalars().all()
        seen = conversations.last_inbound_from(conn, CHANNEL, ADDRESS)
    assert [u for _, u in contacts] == [ADDRESS] and len(states) == 1
    assert states != ["greeting"] and seen is not None


def _write_under_the_old_key(service: Service, families: int) -> list[Person]:
    people = [Person(service, f"62811000{n:03d}") for n in range(families)]
    for person in people:
        person.say("halo")
        person.say("1")
    return people


def test_rotation_reseals_everything_resumably_and_once(db: Engine, clock: FrozenClock) -> None:
    """Values under the old key are all sealed again with the newest, in batches: stopped
    half-way it continues, a second run changes nothing, reads are the same throughout, and
    a family whose address is still under the old key is found mid-way."""
    service = make_service(db, clock)
    before = crypto.install(OLD_ONLY)
    try:
        people = _write_under_the_old_key(service, 4)
    finally:
        crypto.install(before)
    assert set(rekey.status(db)) == {"ktest1"}
    was = dump(db)
    first = rekey.rotate(db, batch=3, batches=1)  # interrupted after one batch
    assert sum(first.values()) > 0 and set(rekey.status(db)) == {"ktest1", "ktest2"}
    assert dump(db) == was
    people[-1].say("2")  # its address still sealed with the old key: the same contact
    with db.connect() as conn:
        assert len(conn.execute(select(Contact.id)).all()) == 4
    rest = rekey.rotate(db, batch=3)
    assert sum(rest.values()) > 0
    assert set(rekey.status(db)) == {"ktest2"}
    assert rekey.rotate(db) == {}  # nothing more to do
    people[0].say("2")
    with db.connect() as conn:
        assert len(conn.execute(select(Contact.id)).all()) == 4


def test_rotation_killed_mid_way_leaves_every_row_readable_and_resumes(
        sqlite_db: Engine, clock: FrozenClock) -> None:
    """`lk3 keys rotate` killed (-9) half-way: every row reads as before, under either key;
    run again, it finishes the rest and everything is under the newest key."""
    service = make_service(sqlite_db, clock)
    before = crypto.install(OLD_ONLY)
    try:
        _write_under_the_old_key(service, 60)
    finally:
        crypto.install(before)
    was = dump(sqlite_db)
    database = Path(str(sqlite_db.url.database))
    env = {"DATABASE_URL": f"sqlite:///{database}", "LK3_DATA_KEYS": TEST_KEYS}
    proc = subprocess.Popen([str(LK3), "keys", "rotate", "--batch", "1"], cwd=database.parent,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while set(rekey.status(sqlite_db)) != {"ktest1", "ktest2"}:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the rotation never began"
            time.sleep(0.01)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed mid-way, not finished
    assert set(rekey.status(sqlite_db)) == {"ktest1", "ktest2"}
    assert dump(sqlite_db) == was
    again = lk3("keys", "rotate", cwd=database.parent, **env)
    assert again.returncode == 0, again.stderr
    assert set(rekey.status(sqlite_db)) == {"ktest2"} and dump(sqlite_db) == was


# -- the keys at start-up, as an operator meets them ------------------------------------------

def lk3(*args: str, cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    settings = {k: v for k, v in os.environ.items()
                if k.upper() not in ("DATABASE_URL", "LK3_DATA_KEYS")} | env
    done = subprocess.run([str(LK3), *args], cwd=cwd, env=settings, input=stdin, text=True,
                          capture_output=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lk3: "), done.stderr
    return lines[0]


def test_the_key_file_is_made_mode_600_and_needed_to_read(tmp_path: Path) -> None:
    """Without LK3_DATA_KEYS the first start makes lk3.db.key (mode 600) and says backups
    need it; without that file the database is refused in one sentence."""
    done = lk3("chat", "--user", ADDRESS, cwd=tmp_path, stdin="halo\n")
    assert done.returncode == 0, done.stderr
    key = tmp_path / "lk3.db.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "backups" in done.stderr and str(key) in done.stderr
    assert ADDRESS.encode() not in (tmp_path / "lk3.db").read_bytes()
    again = lk3("cases", "list", cwd=tmp_path)
    assert again.returncode == 0 and "created" not in again.stderr
    key.rename(tmp_path / "elsewhere.key")
    refused = lk3("cases", "list", cwd=tmp_path)
    assert refused.returncode == 2 and f"key file {key} is missing" in one_line(refused)
    assert not key.exists()


@pytest.mark.parametrize("value", ["k1:bm90IGEga2V5", "no-colon-here", "k1:!!!!", "a b:x"])
def test_a_wrong_lk3_data_keys_stops_start_up_naming_it(tmp_path: Path, value: str) -> None:
    """A malformed LK3_DATA_KEYS stops start-up with one sentence naming it, key unquoted."""
    done = lk3("chat", cwd=tmp_path, stdin="halo\n", LK3_DATA_KEYS=value)
    assert done.returncode == 2
    line = one_line(done)
    assert "LK3_DATA_KEYS" in line and value not in line
    assert not (tmp_path / "lk3.db").exists()


def test_keys_the_database_was_not_sealed_with_stop_start_up(tmp_path: Path) -> None:
    """Well-formed keys that lack the database's key: one sentence naming LK3_DATA_KEYS."""
    assert lk3("chat", cwd=tmp_path, stdin="halo\n",
               LK3_DATA_KEYS=os.environ["LK3_DATA_KEYS"]).returncode == 0
    other = keys.new_key()
    done = lk3("cases", "list", cwd=tmp_path, LK3_DATA_KEYS=other)
    assert done.returncode == 2
    line = one_line(done)
    assert "LK3_DATA_KEYS" in line and "ktest2" in line and other.split(":")[1] not in line


def test_postgresql_without_keys_refuses_to_start(tmp_path: Path) -> None:
    """On PostgreSQL there is no key file: without LK3_DATA_KEYS it refuses, one sentence."""
    url = "postgresql://lk3@127.0.0.1:1/lk3"  # refused before connecting
    for args in (("db", "upgrade"), ("cases", "list")):
        done = lk3(*args, cwd=tmp_path, DATABASE_URL=url)
        assert done.returncode == 2
        assert "Setting LK3_DATA_KEYS is missing" in one_line(done)
    assert list(tmp_path.iterdir()) == []


def test_keys_commands(tmp_path: Path) -> None:
    """`keys new` prints a usable key line; `keys status` counts values per key id;
    `keys rotate` moves them to the newest key put first, and the data reads the same."""
    new = lk3("keys", "new", cwd=tmp_path)
    assert new.returncode == 0 and keys.parse(new.stdout.strip())
    first = os.environ["LK3_DATA_KEYS"].split(",")[0]
    assert lk3("chat", "--user", "u1", cwd=tmp_path, stdin="halo\n1\n",
               LK3_DATA_KEYS=first).returncode == 0
    status = lk3("keys", "status", cwd=tmp_path, LK3_DATA_KEYS=first)
    assert status.returncode == 0 and "ktest2" in status.stdout
    both = f"{new.stdout.strip()},{first}"
    rotated = lk3("keys", "rotate", cwd=tmp_path, LK3_DATA_KEYS=both)
    assert rotated.returncode == 0, rotated.stderr
    assert "no value uses ktest2 any more" in rotated.stdout
    listed = lk3("cases", "list", cwd=tmp_path, LK3_DATA_KEYS=new.stdout.strip())
    assert listed.returncode == 0, listed.stderr

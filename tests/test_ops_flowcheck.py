"""`lk3 flow check` reads every YAML file in flows/ the service reads; `lk3 serve` agrees."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.cli.flowcli import check
from bot.flowfiles import first_error
from flows.loader import FLOWS_DIR

REPO = Path(__file__).resolve().parent.parent
SETTINGS = ("DATABASE_URL", "LK3_HOST", "LK3_PORT", "LOG_LEVEL")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of every YAML file in flows/ (counselor texts included), to break one thing in."""
    out = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, out, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return out


def sub(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def drop(path: Path, key: str) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    del raw[key]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def both(fn: Callable[[Path], None], *files: str) -> Callable[[Path], None]:
    def run(folder: Path) -> None:
        for file in files:
            fn(folder / file)
    return run


BREAKS: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    # name: (file named, the break, places the sentence names)
    "hour 25": ("service.yaml", lambda f: sub(f / "service.yaml", 'open: "08:00"',
                                              'open: "25:00"'), ("hour",)),
    "hour unquoted": ("service.yaml", lambda f: sub(f / "service.yaml", 'open: "08:00"',
                                                    "open: 25:00"), ("fromisoformat",)),
    "target not a number": ("service.yaml", lambda f: sub(
        f / "service.yaml", "P0: {minutes: 5}", "P0: {minutes: lima}"), ("'lima'",)),
    "referral without for": ("referrals.yaml", lambda f: sub(
        f / "referrals.yaml", "tepsa: {name: TePSA 1500-771 Kemensos, for: anak dalam bahaya}",
        "tepsa: {name: TePSA 1500-771 Kemensos}"), ("tepsa", "`for:`")),
    "referrals a list": ("referrals.yaml", lambda f: (f / "referrals.yaml").write_text(
        "- uptd_ppa\n"), ("mapping",)),
    "referral code two words": ("referrals.yaml", lambda f: sub(
        f / "referrals.yaml", "polres_ppa:", "Polres PPA:"), ("Polres PPA", "one word")),
    "counselor text gone": ("counselor/id.yaml", both(lambda p: drop(p, "registered"),
                            "counselor/id.yaml", "counselor/en.yaml"), ("'registered'",)),
    "counselor text untranslated": ("counselor/id.yaml", lambda f: drop(
        f / "counselor/id.yaml", "registered"), ("'registered'",)),
    "counselor braces": ("counselor/en.yaml", lambda f: sub(
        f / "counselor/en.yaml", "Welcome, {name}.", "Welcome, {name."), ("registered",
                                                                          "braces")),
    "host text gone": ("catalog/id.yaml", both(lambda p: drop(p, "p0_wait.no_answer_yet"),
                       "catalog/id.host.yaml", "catalog/en.host.yaml"),
                       ("'p0_wait.no_answer_yet'",)),
    "catalog part not YAML": ("catalog/id.crisis.yaml", lambda f: append(
        f / "catalog/id.crisis.yaml", "broken: [x\n"), ("YAML", "line")),
    "lists a number": ("lists.yaml", lambda f: (f / "lists.yaml").write_text("5\n"), ()),
    "directory a list": ("directory.yaml", lambda f: (f / "directory.yaml").write_text(
        "[1, 2]\n"), ()),
    "triage a list": ("intake.triage.yaml", lambda f: (f / "intake.triage.yaml").write_text(
        "[1]\n"), ()),
    "keyword not a list": ("keywords.yaml", lambda f: sub(
        f / "keywords.yaml", "emergency: [darurat, tolong, emergency, sos, help, help me, "
        "please help, help please, please help me]",
        "emergency: darurat"), ("emergency",)),
    "answers a list": ("answers.yaml", lambda f: (f / "answers.yaml").write_text("[1]\n"), ()),
    "crisis not YAML": ("crisis.yaml", lambda f: (f / "crisis.yaml").write_text("{a: [\n"),
                        ("YAML",)),
    # the review's experiment: a question kept on the case, half done, fails loudly
    "case answer without a column": ("intake.yaml", lambda f: sub(
        f / "intake.yaml", "case_answers: [category, distrik]",
        "case_answers: [category, distrik, kampung]"), ("kampung", "storage/models.py")),
    "case column the flow forgets": ("intake.yaml", lambda f: sub(
        f / "intake.yaml", "case_answers: [category, distrik]", "case_answers: [category]"),
        ("distrik",)),
    "case answer not a question": ("intake.yaml", lambda f: sub(
        f / "intake.yaml", "case_answers: [category, distrik]",
        "case_answers: [category, distrik, disability]"), ("disability",)),
    "flow goes nowhere": ("intake.yaml", lambda f: sub(
        f / "intake.yaml", "goto: category\n", "goto: nowhere\n"), ("'nowhere'",)),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_a_broken_file_fails_the_check_naming_it(folder: Path, name: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A broken YAML file fails `flow check` in one line naming it; serve's sentence is that."""
    file, wreck, places = BREAKS[name]
    wreck(folder)
    assert check(folder) == 1
    fails = [line for line in capsys.readouterr().err.splitlines() if line.startswith("FAIL")]
    assert fails, name
    sentence = fails[0].removeprefix("FAIL ")
    assert str(folder / file) in sentence
    for place in places:
        assert place in sentence
    assert first_error(folder) == sentence


def test_an_untouched_copy_passes_with_a_line_per_file(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A clean copy passes; the check names service, referrals, counselor texts and the flow."""
    assert check(folder) == 0
    out = capsys.readouterr().out
    for label in ("flows/service.yaml", "flows/referrals.yaml", "flows/counselor", "intake"):
        assert f"ok   {label}" in out
    assert first_error(folder) is None


def test_a_referral_field_cut_by_a_comma_is_a_warning(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`for: a, b` in {...} loses `b`: the check warns naming the entry, and still passes."""
    sub(folder / "referrals.yaml", "for: anak dalam bahaya}", "for: anak, bahaya}")
    assert check(folder) == 0
    assert f"WARN {folder / 'referrals.yaml'}: tepsa: `bahaya` has no value" in \
        capsys.readouterr().err


def source_copy(tmp_path: Path) -> Path:
    """The service's code and flows copied, so `python -m bot.cli` there reads its flows/."""
    src = tmp_path / "src"
    for package in ("bot", "flows", "storage"):
        shutil.copytree(REPO / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return src


def run(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    with socket.socket() as sock:  # a free port, should the check let serve start
        sock.bind(("127.0.0.1", 0))
        env["LK3_PORT"] = str(sock.getsockname()[1])
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=src, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_serve_refuses_a_broken_service_file_with_the_checks_sentence(tmp_path: Path) -> None:
    """`open: "25:00"`: `lk3 serve` exits 2 with the one sentence `lk3 flow check` prints."""
    src = source_copy(tmp_path)
    sub(src / "flows" / "service.yaml", 'open: "08:00"', 'open: "25:00"')
    checked = run(src, "flow", "check")
    assert checked.returncode == 1
    (fail,) = [line for line in checked.stderr.splitlines() if line.startswith("FAIL")]
    served = run(src, "serve")
    assert served.returncode == 2
    assert served.stderr.strip() == "lk3: " + fail.removeprefix("FAIL ")
    assert str(src / "flows" / "service.yaml") in served.stderr
    assert not (src / "lk3.db").exists()

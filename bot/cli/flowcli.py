"""`lk3 flow check`, `lk3 flow draw` and `lk3 flow eval`."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transitions.extensions import GraphMachine

import flows
from bot.flowfiles import results
from flows.crisis import GROUPS, CrisisWords, Scan
from flows.definition import FlowError
from flows.engine import Engine
from flows.loader import FLOWS_DIR

MIN_RECALL = 0.95  # per group, and for imminence
MAX_FALSE_ALARMS = 0.02  # of the ordinary messages
SPEED_RUNS = 20  # scans of the longest message, timed for the `speed` line


def check(folder: Path = FLOWS_DIR) -> int:
    """Check every YAML file of `folder` the service reads; one line each (errors and
    warnings on standard error). 0 when all are fine, 1 when any is wrong."""
    failed = 0
    for result in results(folder):
        for warning in result.warnings:
            print(f"WARN {warning}", file=sys.stderr)
        if result.error is not None:
            print(f"FAIL {result.error}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok   {result.label}: {result.ok}")
    return 1 if failed else 0


def mermaid(engine: Engine) -> str:
    """The flow's Mermaid state diagram, from the same transitions the engine runs."""
    flow = engine.flow
    transitions = []
    for t in engine.transitions():
        dest = t["dest"] if t["dest"] is not None else t["source"]
        transitions.append({"trigger": t["trigger"], "source": t["source"], "dest": dest})
    machine = GraphMachine(states=list(flow.states), transitions=transitions,
                           initial=flow.initial, auto_transitions=False, graph_engine="mermaid",
                           title=f"{flow.name} v{flow.version}")
    return str(machine.get_graph().draw(None))


def draw(name: str) -> int:
    try:
        engine = Engine.load(name)
    except FlowError as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return 2
    print(mermaid(engine))
    return 0


def corpus_path() -> Path:
    """The corpus in the repository: tests/data/crisis_corpus.yaml next to the flows package."""
    return Path(flows.__file__).resolve().parent.parent / "tests" / "data" / "crisis_corpus.yaml"


@dataclass(frozen=True)
class Corpus:
    danger: list[tuple[str, str, bool]]  # text, expected group, imminent
    ordinary: list[str]


def read_corpus(path: Path) -> Corpus:
    """The corpus file; ValueError says what is wrong with it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("danger"), list) \
            or not isinstance(raw.get("ordinary"), list):
        raise ValueError(f"{path}: needs `danger:` and `ordinary:` lists")
    danger = []
    for i, item in enumerate(raw["danger"]):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) \
                or item.get("group") not in GROUPS:
            raise ValueError(f"{path}: danger[{i}]: needs `text` and `group` (one of "
                             f"{', '.join(GROUPS)})")
        danger.append((item["text"], item["group"], item.get("imminent") is True))
    for i, text in enumerate(raw["ordinary"]):
        if not isinstance(text, str):
            raise ValueError(f"{path}: ordinary[{i}]: needs a text")
    return Corpus(danger, raw["ordinary"])


def answered_as(scan: Scan) -> tuple[str, ...]:
    """The kinds of danger a message is answered as: its groups, and a child's where a
    sentence with danger words names a child or a child writes (the engine then gives the
    child's numbers and texts: "anak tetangga dari td dipukul" is violence the lists found,
    answered with TePSA too)."""
    child = "child" not in scan.groups and (scan.child or scan.young)
    return (*scan.groups, "child") if child else scan.groups


def evaluate(words: CrisisWords, corpus: Corpus) -> dict[str, Any]:
    """Recall per group and for imminence of the lists alone (the model is trained on the
    corpus: with it, recall here says little), the same with the model as the bot reads,
    false alarms as the bot reads (lists and model); the misses and the alarms. A group is
    found as the family is answered (`answered_as`); a message is imminent when any of its
    groups is (the emergency message is the same: its texts follow the focus)."""
    groups: dict[str, list[int]] = {g: [0, 0] for g in GROUPS}  # found, total
    imminent = [0, 0]
    over = 0  # marked imminent though the corpus does not say so (shown, not a threshold)
    both = [0, 0, 0]  # with the model: any danger found, the right group, imminent found
    misses: list[dict[str, Any]] = []
    for text, group, urgent in corpus.danger:
        full = words.scan(text)
        both[0] += bool(full)
        both[1] += group in answered_as(full)
        both[2] += urgent and bool(full.imminent)
        scan = words.scan(text, model=False)
        got = answered_as(scan)
        groups[group][1] += 1
        groups[group][0] += group in got
        imminent[1] += urgent
        imminent[0] += urgent and bool(scan.imminent)
        over += not urgent and bool(scan.imminent)
        if group not in got or (urgent and not scan.imminent):
            misses.append({"text": text, "expected": group, "imminent": urgent,
                           "got": list(got), "got_imminent": list(scan.imminent)})
    alarms = []
    for text in corpus.ordinary:
        scan = words.scan(text)
        if scan:
            alarms.append({"text": text, "got": list(scan.groups), "matched": [
                *scan.matched, *([f"model {scan.model:.2f}"] if scan.model is not None else [])]})
    n = len(corpus.ordinary)
    rate = len(alarms) / n if n else 0.0
    longest = max((t for t, _, _ in corpus.danger), key=len, default="") or "halo"
    start = time.perf_counter()
    for _ in range(SPEED_RUNS):
        words.scan(longest)  # a long text is never cached: scanned each time
    speed = {"longest_chars": len(longest),
             "longest_ms": (time.perf_counter() - start) / SPEED_RUNS * 1000}
    recall = {g: {"found": f, "total": t, "recall": f / t if t else None}
              for g, (f, t) in groups.items()}
    failed = [g for g, r in recall.items() if r["recall"] is not None and r["recall"] < MIN_RECALL]
    if imminent[1] and imminent[0] / imminent[1] < MIN_RECALL:
        failed.append("imminent")
    if rate > MAX_FALSE_ALARMS:
        failed.append("false alarms")
    total = len(corpus.danger)
    return {"groups": recall,
            "imminent": {"found": imminent[0], "total": imminent[1], "over": over,
                         "recall": imminent[0] / imminent[1] if imminent[1] else None},
            "with_model": {"found": both[0], "right_group": both[1], "total": total,
                           "imminent_found": both[2], "imminent_total": imminent[1]},
            "false_alarms": {"count": len(alarms), "total": n, "rate": rate},
            "danger": len(corpus.danger), "ordinary": n, "misses": misses, "alarms": alarms,
            "speed": speed,
            "failed": failed, "passed": not failed}


def _line(name: str, found: int, total: int, what: str = "recall") -> str:
    if not total:
        return f"{name:<13} {what} n/a  (0 in the corpus)"
    return f"{name:<13} {what} {found / total:.2f} ({found}/{total})"


def report(result: dict[str, Any]) -> str:
    lines = [_line(g, r["found"], r["total"]) for g, r in result["groups"].items()]
    im, fa = result["imminent"], result["false_alarms"]
    lines.append(_line("imminent", im["found"], im["total"])
                 + f"; {im['over']} more marked imminent than the corpus says")
    wm = result["with_model"]
    if wm["total"]:
        lines.append(f"{'with model':<13} any danger {wm['found'] / wm['total']:.2f} "
                     f"({wm['found']}/{wm['total']}), the right kind {wm['right_group']}, "
                     f"imminent {wm['imminent_found']}/{wm['imminent_total']} (as the bot "
                     f"reads; the lines above: the lists alone)")
    lines.append(f"{'false alarms':<13} {fa['rate']:.1%} ({fa['count']}/{fa['total']}; lists "
                 "and model)")
    lines.append(f"{'corpus':<13} {result['danger']} danger, {result['ordinary']} ordinary")
    speed = result["speed"]
    lines.append(f"{'speed':<13} {speed['longest_ms']:.1f} ms to scan the longest message "
                 f"({speed['longest_chars']:,} characters; for information)")
    for m in result["misses"]:
        want = m["expected"] + (" (imminent)" if m["imminent"] else "")
        got = ", ".join(m["got"]) or "nothing"
        if m["got_imminent"]:
            got += f"; imminent: {', '.join(m['got_imminent'])}"
        lines.append(f"MISS  {m['text'][:120]!r}: expected {want}, got {got}")
    for a in result["alarms"]:
        lines.append(f"ALARM {a['text'][:120]!r}: got {', '.join(a['got'])} "
                     f"({'; '.join(a['matched'])})")
    verdict = "ok" if result["passed"] else "FAIL: " + ", ".join(result["failed"])
    lines.append(f"{verdict} (recall >= {MIN_RECALL:.2f} per group and for imminence, "
                 f"false alarms <= {MAX_FALSE_ALARMS:.0%})")
    return "\n".join(lines)


def eval(corpus: Path | None = None, as_json: bool = False, flow: str = "intake") -> int:
    """Run the crisis words over a corpus: 0 when the thresholds hold, 1 when not, 2 on error."""
    path = corpus or corpus_path()
    if not path.is_file():
        print(f"lk3: no corpus at {path}", file=sys.stderr)
        return 2
    try:
        words = Engine.load(flow).bundle.crisis
        result = evaluate(words, read_corpus(path))
    except (FlowError, ValueError) as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=1) if as_json else report(result))
    return 0 if result["passed"] else 1

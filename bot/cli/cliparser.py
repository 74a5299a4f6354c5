"""The `lk3` command line: every subcommand with a description and examples (`--help`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.broadcast import cli as broadcast_cli

FORMAT = argparse.RawDescriptionHelpFormatter


def _sub(sub: Any, name: str, help: str, description: str, examples: str,
         **kw: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, formatter_class=FORMAT,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()),
        **kw)
    return p


def _db(sub: Any) -> None:
    d = _sub(sub, "db", "the database: migrations, backup and restore",
             "Migrate the database (SQLite or PostgreSQL, from DATABASE_URL), show its revision, "
             "or back it up and restore it (SQLite; on PostgreSQL use pg_dump / pg_restore).",
             "lk3 db upgrade\nlk3 db current\nlk3 db backup /var/backups/lk3/\n"
             "lk3 db restore /var/backups/lk3/lk3-20261205T010000Z.db\n"
             "lk3 db downgrade 0004 --yes")
    actions = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = _sub(actions, "upgrade", "migrate up (to head, or to REV)",
              "Apply the migrations up to REV (default: head). `lk3 serve` does this by itself "
              "on SQLite; on PostgreSQL run it after every update, before starting.",
              "lk3 db upgrade\nlk3 db upgrade 0004")
    up.add_argument("revision", nargs="?", metavar="REV", help="target revision (default head)")
    down = _sub(actions, "downgrade", "migrate down to REV (explicit; --yes to drop data)",
                "Undo migrations down to REV: a revision id, -N (N steps) or base (every table "
                "dropped). When that would delete tables or columns that hold data, it says "
                "what and how much, and does nothing without --yes. Back up first. Refused "
                "while `lk3 serve`, `lk3 process` or `lk3 chat` runs on this SQLite database.",
                "lk3 db downgrade 0004\nlk3 db downgrade -1 --yes")
    down.add_argument("revision", nargs="?", metavar="REV", help="target revision (required)")
    down.add_argument("--yes", action="store_true",
                      help="go ahead even though tables or columns with data are dropped")
    _sub(actions, "current", "print the database's revision",
         "Print the revision the database is at. Refuses, rather than creating an empty "
         "database, when the SQLite file does not exist.", "lk3 db current")
    back = _sub(actions, "backup", "copy the SQLite database while the service runs",
                "Write a consistent copy of the SQLite database with SQLite's online backup "
                "(safe while `lk3 serve` runs): a new file, mode 600, checked, in one piece "
                "(no -wal). FILE may be a folder: the copy is then named lk3-<UTC time>.db. "
                "An existing file is never overwritten. PostgreSQL: use pg_dump.",
                "lk3 db backup /var/backups/lk3/\nlk3 db backup lk3-before-update.db")
    back.add_argument("file", nargs="?", metavar="FILE", help="new file or existing folder")
    rest = _sub(actions, "restore", "replace the SQLite database with a backup",
                "Replace the database's content with a backup made by `lk3 db backup`. "
                "Refused while `lk3 serve`, `lk3 process` or `lk3 chat` runs on it (they hold "
                "<db>-service.lock). The current content is kept first as "
                "<db>.before-restore-<UTC time>. PostgreSQL: use pg_restore.",
                "lk3 db restore /var/backups/lk3/lk3-20261205T010000Z.db")
    rest.add_argument("file", nargs="?", metavar="FILE", help="the backup file")


def _keys(sub: Any) -> None:
    k = _sub(sub, "keys", "the data keys: new key, values per key, rotation",
             "Personal fields (words, answers, notes, addresses) are sealed with AES-256-GCM "
             "under the data keys: LK3_DATA_KEYS (ID:BASE64KEY,..., newest first), or on "
             "SQLite without it the key file beside the database (lk3.db.key), made on first "
             "start. Backups need the keys. new: print a fresh key line. status: how many "
             "values each key id seals. rotate: seal every value with the newest key, in "
             "batches (--batch rows a transaction), safe while the service runs; stopped, it "
             "continues where it was when run again. Rotation: put the new key first "
             "(LK3_DATA_KEYS or the key file), keep the old one after it, restart the "
             "service, run `lk3 keys rotate`, then remove the old key once status shows no "
             "value under it.",
             "lk3 keys new\nlk3 keys status\nlk3 keys rotate\nlk3 keys rotate --batch 200")
    k.add_argument("action", choices=["new", "status", "rotate"])
    k.add_argument("--batch", type=int, default=500, metavar="N",
                   help="rotate: rows per transaction (default 500)")


def _privacy(sub: Any) -> None:
    p = _sub(sub, "privacy", "data rights: DATA/UBAH/HAPUS requests, retention",
             "list: open data-rights requests (kind, contact, cases, due time in WIT, state; "
             "--all: closed ones too). refuse: with a reason the family is told (UU PDP Pasal "
             "33). erase: HAPUS done (the case skeleton stays; a legal hold defers it). "
             "export: DATA, written for review (mode 600), then --send in the chat, or "
             "--handed-over once given in person (a family that used KELUAR). correct: "
             "UBAH, one answer. purge: the retention periods of flows/retention.yaml "
             "(--dry-run: only count). Operator's guide: docs/operations.md, 'Data rights'.",
             "lk3 privacy list\nlk3 privacy refuse P-3 --reason safety\n"
             "lk3 privacy erase P-4\nlk3 privacy export P-5\nlk3 privacy export P-5 --send\n"
             "lk3 privacy export P-5 --handed-over\n"
             "lk3 privacy correct P-6 --field distrik --value wania\n"
             "lk3 privacy purge --dry-run")
    p.add_argument("action", choices=["list", "refuse", "erase", "export", "correct",
                                      "purge"])
    p.add_argument("request", nargs="?", metavar="REQUEST", help="the request, e.g. P-12")
    p.add_argument("--reason", choices=["safety", "third_party"],
                   help="refuse: endangers someone | would reveal another person's data")
    p.add_argument("--send", action="store_true", help="export: send the reviewed copy")
    p.add_argument("--handed-over", action="store_true",
                   help="export: the reviewed copy was given in person; close, send nothing")
    p.add_argument("--field", help="correct: the answer's name (e.g. distrik)")
    p.add_argument("--value", help="correct: its new value")
    p.add_argument("--dry-run", action="store_true", help="purge: count, remove nothing")
    p.add_argument("--all", action="store_true", dest="show_all", help="list: closed too")
    p.add_argument("--json", action="store_true", help="list, purge: JSON with codes")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lk3", description="LK3 intake bot (Dinas Sosial Mimika). Settings come from the "
        "environment, then .env in the working directory (see .env.example).",
        formatter_class=FORMAT, epilog="`lk3 COMMAND --help` describes each command; the "
        "operator's guide is docs/operations.md.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _sub(sub, "serve", "run the web app and the background workers",
         "Run the web app (webhooks, GET /healthz) on LK3_HOST:LK3_PORT with the inbox "
         "processors (LK3_PROCESSORS, default 2: child processes it restarts if they die), "
         "the outbox relay, the scheduler and the broadcast job (a child process too). "
         "Checks every file in flows/ first (as `lk3 flow check`) and stops with one "
         "sentence if one is wrong. Ctrl-C (or "
         "SIGTERM) stops cleanly; queued work stays in the database.",
         "lk3 serve\nLK3_PORT=8080 lk3 serve")
    w = _sub(sub, "process", "one inbox processor (lk3 serve starts its own)",
             "Run one inbox processor for contact shard K of LK3_PROCESSORS. `lk3 serve` "
             "already starts one per shard; use this for more processors on other machines "
             "with PostgreSQL (any number, --shard is ignored).",
             "LK3_PROCESSORS=2 lk3 process --shard 2")
    w.add_argument("--nudged", action="store_true", help=argparse.SUPPRESS)  # lk3 serve's
    w.add_argument("--shard", type=int, required=True,
                   help="which shard of the contacts this process handles "
                        "(1..LK3_PROCESSORS; ignored on PostgreSQL)")
    c = _sub(sub, "chat", "talk to the bot as a family, in this terminal",
             "A family's conversation through the real inbox, engine, database and outbox. "
             "Interactive: Ctrl-D or Ctrl-C ends it. From a pipe: one message per line, every "
             "reply printed, exit 0 at the end of input.",
             "lk3 chat\nlk3 chat --user fam1 --lang en\nprintf 'halo\\n1\\n' | lk3 chat")
    c.add_argument("--user", default="terminal", help="the family's id (default: terminal)")
    c.add_argument("--lang", choices=["id", "en"], default="id", help="language to start in")
    _db(sub)
    f = _sub(sub, "flow", "check the files in flows/, draw a flow, or measure the crisis words",
             "check: read every YAML file in flows/ that the service reads (flows, triage, "
             "catalogs, lists, keywords, crisis words, answers, directory, service hours, "
             "referrals, counselor texts) and name the file and place of each problem; exit 1 "
             "if any. draw: print a flow as a Mermaid diagram. eval: run the crisis words "
             "(flows/crisis.yaml) over a corpus of danger and ordinary messages; print recall "
             "per group, imminent recall and the false-alarm rate, with every miss and false "
             "alarm; exit 1 when a group's or the imminent recall is below 0.95 or false "
             "alarms are above 2%. train: learn the crisis model (flows/crisis_model.json, "
             "the second reading of messages the lists find no danger in) from the corpus; "
             "needs scikit-learn (the dev extra); run it after every change to the corpus.",
             "lk3 flow check\nlk3 flow draw intake > intake.mmd\nlk3 flow eval --json\n"
             "lk3 flow train")
    f.add_argument("action", choices=["check", "draw", "eval", "train"])
    f.add_argument("flow", nargs="?", default="intake", help="flow name (default: intake)")
    f.add_argument("--corpus", type=Path, metavar="PATH",
                   help="eval, train: the corpus YAML (`danger:` {text, group, imminent} items "
                        "and `ordinary:` texts; default: tests/data/crisis_corpus.yaml)")
    f.add_argument("--json", action="store_true", help="eval: print the result as JSON")
    k = _sub(sub, "cases", "the case queue; one case with its transcript; holds; who looked",
             "list: the open cases, most urgent first, with assignee, waiting time and "
             "first-response deadline (--all: closed ones too). show: one case with its "
             "details, transcript and audit events (the view is recorded). Both only read "
             "the case: they refuse when the database does not exist. hold: a legal hold "
             "(--reason; --release lifts it): erasure of the family's data waits while it "
             "lasts. audit: who viewed the case, when and how (WIT).",
             "lk3 cases list\nlk3 cases list --status waiting --json\n"
             "lk3 cases list --all --limit 0\n"
             "lk3 cases show LK3-2026-00042\n"
             "lk3 cases hold LK3-2026-00042 --reason 'proses hukum UU TPKS'\n"
             "lk3 cases hold LK3-2026-00042 --release\n"
             "lk3 cases audit LK3-2026-00042 --json")
    k.add_argument("action", choices=["list", "show", "hold", "audit"])
    k.add_argument("number", nargs="?", metavar="NUMBER",
                   help="case number (for show, hold, audit)")
    k.add_argument("--reason", help="hold: why (a legal process under UU TPKS, a "
                                    "child-protection referral); erasure waits until released")
    k.add_argument("--release", action="store_true", help="hold: release the case's hold")
    k.add_argument("--status", choices=["waiting", "claimed", "closed"])
    k.add_argument("--all", action="store_true", dest="show_all",
                   help="list: closed cases too (open ones first)")
    k.add_argument("--limit", type=int, default=50, metavar="N",
                   help="list: at most N rows (default 50; 0 = all)")
    k.add_argument("--json", action="store_true", help="print a JSON array")
    _privacy(sub)
    _keys(sub)
    broadcast_cli.add_parser(sub)
    n = _sub(sub, "counselor", "counselors: add, list, remove, invite codes, console passwords",
             "add: a counselor with role and accounts. list: counselors with role, duty, "
             "capacity, open cases and accounts (only reads). remove: a counselor (history "
             "kept; their cases go back to the queue). invite: a one-time code (7 days) that "
             "makes whoever sends `/daftar CODE` to the bot a counselor. passwd: set the "
             "password for the web console (/console/; asked twice, or the first line of "
             "stdin with --password-stdin; at least 10 characters); their console sessions "
             "end. The console username is the name as added (any case) unless --username "
             "was given at add; a counselor without a password cannot sign in.",
             "lk3 counselor add --name 'Maria K' --role supervisor --telegram-id 111222333\n"
             "lk3 counselor add --name 'Yosep W' --role counselor --username yosep\n"
             "lk3 counselor passwd 'Maria K'\n"
             "printf '%s\\n' \"$PW\" | lk3 counselor passwd 3 --password-stdin\n"
             "lk3 counselor list --json\nlk3 counselor remove 'Maria K'\n"
             "lk3 counselor invite --role counselor --name Yosep")
    n.add_argument("action", choices=["add", "list", "remove", "invite", "passwd"])
    n.add_argument("who", nargs="?", metavar="NAME_OR_ID", help="who to remove (remove) or "
                   "whose console password to set (passwd)")
    n.add_argument("--name", help="the counselor's name (add; optional for invite)")
    n.add_argument("--username", help="console sign-in name (add; default: the name)")
    n.add_argument("--password-stdin", action="store_true",
                   help="passwd: read the password from the first line of stdin")
    n.add_argument("--role", choices=["counselor", "supervisor", "admin"])
    n.add_argument("--telegram-id", metavar="ID", help="their Telegram user id (add)")
    n.add_argument("--whatsapp", metavar="+62...", help="their WhatsApp number (add)")
    n.add_argument("--capacity", type=int, default=5,
                   help="most open cases at once (add; default 5)")
    n.add_argument("--json", action="store_true", help="print a JSON array (list)")
    b = _sub(sub, "bench", "push synthetic families through the pipeline; print rates",
             "Run synthetic families through the whole intake on a fresh SQLite file (never "
             "the service's database) and print messages per second, latency and reference "
             "rates (the default configuration decides; the other mode is printed too). "
             "--relay measures the outbox relay instead, against a Bot API of its own that "
             "answers after --rtt-ms. --http measures what a family feels, from webhook POST "
             "to the reply at a fake Bot API, against a python-telegram-bot webhook bot with "
             "PicklePersistence in the same run. --broadcast sends a broadcast to --recipients "
             "Telegram subscribers through lk3 serve against a fake Bot API and prints its "
             "rate against the allowed one (80% of TELEGRAM_BROADCAST_MPS, 250 for the run), "
             "the p50/p99 of replies to families idle and while it sends, and peak memory of "
             "creating and feeding 1,000 and 100,000 recipients. --json, with --http or "
             "--broadcast, prints the figures and verdicts as JSON instead of the report.",
             "lk3 bench\nlk3 bench --families 500 --workers 1\nlk3 bench --relay --rtt-ms 50\n"
             "lk3 bench --http --http-families 200 --concurrency 50\n"
             "lk3 bench --broadcast --recipients 10000 --json")
    b.add_argument("--families", type=int, default=2000)
    b.add_argument("--batch", type=int, default=None,
                   help="messages per processor transaction and per adapter commit "
                        "(default: the processor's, 500)")
    b.add_argument("--workers", type=int, default=2,
                   help="processor processes, each owning a shard of the contacts (default 2)")
    b.add_argument("--relay", action="store_true",
                   help="measure the outbox relay's send rate instead of the pipeline")
    b.add_argument("--rtt-ms", type=float, default=50.0,
                   help="the fake Bot API's round trip for --relay (default 50)")
    from bot.bench import broadcastbench, httpbench

    httpbench.add_arguments(b)
    broadcastbench.add_arguments(b)
    return p

"""A worker process for the multi-process pipeline test: Processor.run_once until the inbox drains.

    python -m tests.workers_proc URL BATCH PRODUCER_DONE_FILE DEADLINE_SECONDS

Prints `ready` once it can work, then one JSON line with how many messages it handled. It stops by
itself once the producer is done and the inbox has stayed empty for a few polls; it exits with 2
when the deadline passes first.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bot.pipeline.processor import Processor
from storage import inbox
from storage.db import make_engine
from tests.support import FrozenClock, flows, install_test_keys

IDLE_POLLS_TO_STOP = 3
POLL_SECONDS = 0.005  # only a polling interval; nothing in the test depends on it


def main(url: str, batch: int, producer_done: Path, deadline_s: float) -> int:
    db = make_engine(url)
    processor = Processor(db, flows(), FrozenClock(), batch=batch)
    handled = runs = idle = 0
    deadline = time.monotonic() + deadline_s
    print("ready", flush=True)
    try:
        while time.monotonic() < deadline:
            n = processor.run_once()
            runs += 1
            handled += n
            if n:
                idle = 0
                continue
            with db.connect() as conn:
                left = inbox.backlog(conn)
            idle = idle + 1 if left == 0 and producer_done.exists() else 0
            if idle >= IDLE_POLLS_TO_STOP:
                print(json.dumps({"handled": handled, "runs": runs}), flush=True)
                return 0
            time.sleep(POLL_SECONDS)
        print(json.dumps({"handled": handled, "runs": runs, "timeout": True}), flush=True)
        return 2
    finally:
        db.dispose()


if __name__ == "__main__":
    install_test_keys()
    sys.exit(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])))

"""`python -m bot.cli`: the `lk3` command."""

from bot.cli import main

raise SystemExit(main())

"""`python -m connector.cli`: the `matterline` command without the console script (tests, crash drills)."""

from __future__ import annotations

from connector.cli import main

main()

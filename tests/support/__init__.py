"""Helpers shared by the tests: a small firm in the store, the CLI runner, the sandbox process, spec checks."""

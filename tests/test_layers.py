"""The structure the project promises: no import cycles, no SQL in the front ends, every service on both.

The import-linter contracts in pyproject.toml (run by `make test`) hold the layers; these tests hold
what a contract cannot say.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import grimp
import pytest

from connector import services

ROOT = Path(__file__).resolve().parent.parent
FRONT_ENDS = (ROOT / "webhooks" / "api", ROOT / "connector" / "cli")
SQL_NAMES = frozenset({"select", "insert", "update", "delete", "text", "func", "and_", "or_", "union", "case"})


def _cycles(adjacency: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in adjacency[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(adjacency):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_even_inside_a_function() -> None:
    graph = grimp.build_graph("connector", "webhooks", "mappings")
    adjacency = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(adjacency) == []


def test_the_cycle_check_can_fail() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def _front_end_modules() -> Iterator[Path]:
    for folder in FRONT_ENDS:
        yield from sorted(folder.glob("*.py"))


@pytest.mark.parametrize("path", list(_front_end_modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_api_and_the_cli_write_no_sql(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
    }
    assert imported & SQL_NAMES == set()
    assert "connector.store.tables" not in path.read_text()


def _services() -> list[str]:
    names = []
    for module_name in services.__all__:
        module = getattr(services, module_name)
        for name in module.__all__:
            if inspect.isfunction(getattr(module, name)):
                names.append(f"{module_name}.{name}")
    return names


def _calls(folder: Path) -> set[str]:
    text = "\n".join(p.read_text() for p in folder.rglob("*.py"))
    return set(re.findall(r"services\.(\w+\.\w+)\(", text)) | {
        f"{a}.{b}" for a, b in re.findall(r"services\.(\w+)\.(record|withdraw)\b", text)
    }


# Signing in is a browser's (a session cookie), and so is redeeming a one-time link (it signs the person in),
# being seen on a thread, and how one's own screen shows names; a password is typed at a prompt, never JSON.
# So are the Clio flows: a redirect to Clio and back, and a click on a button in Clio's pages.
_BROWSER_ONLY: Final = frozenset(
    {
        "signin.sign_in",
        "signin.resume",
        "signin.sign_out",
        "invites.pending",
        "invites.redeem",
        "presence.here",
        "users.set_privacy",
        "cms_signin.begin",
        "cms_signin.complete",
        "custom_actions.land",
    }
)
# Installing every linked person's Clio buttons at once is an operator's command; a person redoes their own.
# Restoring the store and resealing its secrets under a new key happen on the server, with the services stopped
# or being restarted, by whoever holds its files and settings: never from a page.
_PROMPT_ONLY: Final = frozenset(
    {"users.set_password", "custom_actions.install_all", "backups.restore", "secrets.reseal"}
)


@pytest.mark.parametrize("service", _services())
def test_every_service_is_called_by_both_the_web_and_the_cli(service: str) -> None:
    web = _calls(ROOT / "webhooks" / "api") | _calls(ROOT / "webhooks" / "pages")
    assert service in web or service in _PROMPT_ONLY, f"no API route or page calls services.{service}"
    if service not in _BROWSER_ONLY:
        assert service in _calls(ROOT / "connector" / "cli"), f"no CLI command calls services.{service}"

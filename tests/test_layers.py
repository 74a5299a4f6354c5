"""The layers ARCHITECTURE.md draws, read from the imports of every module (`ast`).

Every import counts: at the top, inside a function, and under TYPE_CHECKING. `flows/` and
`storage/` import nothing of `bot/`, `flows/` nothing of `storage/`; channel adapters do not
import the composition root (`bot.service`) or the web app; there is no import cycle; and
SQL is built in `storage/` only (a `bot/` module outside `SQL_ALLOWED` imports none of
sqlalchemy's statement builders).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "flows", "storage")
# The benchmarks alone may build SQL in bot/: they count and seed rows to measure the
# product, and are not part of it.
SQL_ALLOWED = ("bot/bench/*.py",)
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "func", "text"})


@dataclass
class Module:
    """One module: its file, the modules of ours it imports, what it takes from sqlalchemy."""

    name: str
    path: str  # relative to the root, with /
    imports: set[str] = field(default_factory=set)
    sql: set[str] = field(default_factory=set)  # sqlalchemy statement builders it imports


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The module an ImportFrom reads from, relative imports made absolute."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _sql_names(tree: ast.AST) -> set[str]:
    """sqlalchemy's statement builders used through `import sqlalchemy [as sa]`: sa.select."""
    aliases = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names if a.name == "sqlalchemy"}
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id in aliases
            and n.attr in SQL_BUILDERS}


def read_module(root: Path, path: Path, known: set[str]) -> Module:
    rel = path.relative_to(root)
    mod = Module(module_name(rel), rel.as_posix())
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mod.imports |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, mod.name, path.name == "__init__.py")
            if source.split(".")[0] == "sqlalchemy":
                mod.sql |= {a.name for a in node.names if a.name in SQL_BUILDERS}
            for alias in node.names:
                inner = f"{source}.{alias.name}"
                if inner in known:
                    mod.imports.add(inner)
                elif source in known:
                    mod.imports.add(source)
    mod.sql |= _sql_names(tree)
    mod.imports.discard(mod.name)
    return mod


def read_modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Module]:
    paths = sorted(p for pkg in packages for p in (root / pkg).rglob("*.py"))
    known = {module_name(p.relative_to(root)) for p in paths}
    return {m.name: m for m in (read_module(root, p, known) for p in paths)}


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Each group of modules that import one another round (Tarjan), as one cycle in it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for nxt in sorted(modules[name].imports):
            if nxt not in index:
                visit(nxt)
                low[name] = min(low[name], low[nxt])
            elif nxt in stack:
                low[name] = min(low[name], index[nxt])
        if low[name] == index[name]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == name:
                    break
            if len(group) > 1:
                found.append(_loop(modules, set(group)))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def _loop(modules: dict[str, Module], group: set[str]) -> list[str]:
    """One import path round a strongly connected group: a -> b -> ... -> a."""
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        name = todo.pop(0)
        for nxt in sorted(modules[name].imports & group):
            if nxt == start:
                return [*paths[name], start]
            if nxt not in paths:
                paths[nxt] = [*paths[name], nxt]
                todo.append(nxt)
    raise AssertionError(f"no loop in {sorted(group)}")


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def crossings(modules: dict[str, Module]) -> list[str]:
    """Imports against the layers, one line each."""
    rules = (("flows", "bot"), ("flows", "storage"), ("storage", "bot"))
    out = [f"{m.path} imports {target} ({inner} may not import {outer})"
           for m in modules.values() for inner, outer in rules if _under(m.name, inner)
           for target in sorted(m.imports) if _under(target, outer)]
    out += [f"{m.path} imports {target} (a channel adapter may not import the "
            "composition root or the web app)"
            for m in modules.values() if _under(m.name, "bot.channels")
            for target in sorted(m.imports) if target in ("bot.service", "bot.web")]
    return out


def sql_outside_storage(modules: dict[str, Module],
                        allowed: tuple[str, ...] = SQL_ALLOWED) -> list[str]:
    return [f"{m.path} builds SQL itself (sqlalchemy {', '.join(sorted(m.sql))}): "
            "put the query in a storage/ repository function"
            for m in modules.values() if _under(m.name, "bot") and m.sql
            and not any(fnmatch(m.path, pattern) for pattern in allowed)]


# -- the project ---------------------------------------------------------------------------------

def test_no_import_cycles() -> None:
    """No module of bot/, flows/ or storage/ imports itself round through others, counting
    imports inside functions and under TYPE_CHECKING."""
    found = cycles(read_modules(ROOT))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_layers_import_only_downwards() -> None:
    """flows/ imports nothing of ours but flows/, storage/ nothing but storage/, and channel
    adapters neither the composition root nor the web app."""
    found = crossings(read_modules(ROOT))
    assert not found, "\n".join(found)


def test_sql_is_built_in_storage_only() -> None:
    """A bot/ module (outside the list still being moved) imports none of sqlalchemy's
    select/insert/update/delete/func/text: its queries are storage/ repository functions."""
    found = sql_outside_storage(read_modules(ROOT))
    assert not found, "\n".join(found)


def test_every_module_is_read() -> None:
    """The reader sees the whole tree, nested packages and function-level imports included
    (so the checks above do not pass by reading nothing)."""
    modules = read_modules(ROOT)
    assert {"bot.channels.whatsapp", "flows.engine", "storage.queue", "bot"} <= set(modules)
    assert "flows.loader" in modules["flows.engine"].imports
    assert "storage.window" not in modules, "the window rule lives with the WhatsApp channel"


# -- the checks themselves, on a small tree made to break them ------------------------------------

def _tree(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return read_modules(root)


def test_a_cycle_through_type_checking_or_a_function_is_found(tmp_path: Path) -> None:
    """A cycle closed only under TYPE_CHECKING, or only by an import inside a function, is
    still a cycle; a plain chain is not."""
    modules = _tree(tmp_path, {
        "flows/__init__.py": "",
        "flows/engine.py": "from flows import danger\n",
        "flows/danger.py": "from typing import TYPE_CHECKING\n"
                           "if TYPE_CHECKING:\n    from flows.engine import Engine\n",
        "bot/__init__.py": "",
        "bot/casecli.py": "def show():\n    from bot.caseshow import show\n",
        "bot/caseshow.py": "from bot import casecli\n",
        "bot/a.py": "from . import b\n",
        "bot/b.py": "import bot.casecli\n",
        "storage/__init__.py": "",
    })
    assert sorted(cycles(modules)) == [["bot.casecli", "bot.caseshow", "bot.casecli"],
                                       ["flows.danger", "flows.engine", "flows.danger"]]
    assert modules["bot.a"].imports == {"bot.b"}
    assert modules["bot.b"].imports == {"bot.casecli"}


def test_imports_against_the_layers_are_found(tmp_path: Path) -> None:
    """flows/ importing bot/ or storage/, storage/ importing bot/, and a channel importing
    the composition root or the web app are each named."""
    modules = _tree(tmp_path, {
        "flows/__init__.py": "", "storage/__init__.py": "", "bot/__init__.py": "",
        "bot/service.py": "", "bot/web.py": "", "bot/casework/staff.py": "",
        "bot/channels/__init__.py": "",
        "bot/channels/whatsapp.py": "from bot.service import Service\nfrom bot import staff\n",
        "bot/channels/telegram.py": "import bot.web\n",
        "flows/engine.py": "from storage import db\nfrom bot import staff\n",
        "storage/db.py": "from bot.casework.staff import text\n",
    })
    found = crossings(modules)
    assert len(found) == 5, found
    assert [line.split()[0] for line in sorted(found)] == [
        "bot/channels/telegram.py", "bot/channels/whatsapp.py", "flows/engine.py",
        "flows/engine.py", "storage/db.py"]


def test_sql_built_in_bot_is_found(tmp_path: Path) -> None:
    """select/func imported from sqlalchemy (also through `import sqlalchemy as sa`, or from
    a dialect) in a bot/ module is named; types such as Connection, and the allowed list,
    are not."""
    modules = _tree(tmp_path, {
        "bot/__init__.py": "", "flows/__init__.py": "", "storage/__init__.py": "",
        "bot/views.py": "from sqlalchemy import Connection, func, select\n",
        "bot/alias.py": "import sqlalchemy as sa\nq = sa.update(t)\n",
        "bot/dialect.py": "from sqlalchemy.dialects.postgresql import insert\n",
        "bot/typed.py": "from sqlalchemy import Connection, Engine\n",
        "bot/pipeline/processor.py": "from sqlalchemy import select\n",
        "bot/bench/__init__.py": "from sqlalchemy import text\n",
        "storage/queue.py": "from sqlalchemy import select, update\n",
    })
    found = sorted(sql_outside_storage(modules))
    assert [line.split()[0] for line in found] == ["bot/alias.py", "bot/dialect.py",
                                                   "bot/pipeline/processor.py", "bot/views.py"]
    assert "func, select" in found[3]

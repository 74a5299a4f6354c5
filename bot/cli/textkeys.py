"""The catalog texts the service's own code asks for by name, read from its source.

The flow loader checks every text a flow names. The service also names texts in code: the
texts for staff (`flows/counselor/*.yaml`, through `staff.text`, `staff.say` and the
counselor commands' `ctx.say`) and a few family texts outside the flows (`catalog.text(...)`
in the host). A text missing there passed `lk3 flow check` and failed at run time (`/daftar`
answered nothing). This module finds those names without running anything: from each call
that asks for a text it follows the key back through variables, parameters and the callers
that pass them, to the string literals. A name built at run time (an f-string) is not
followed; the code guards those with `staff.has`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent  # bot/
STAFF, FAMILY = "staff", "family"
# (module, function, parameter) that take a text's key, and whose catalog it is
SEEDS = {("bot.casework.staff", "text", "key"): STAFF, ("bot.casework.staff", "say", "key"): STAFF}

Func = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Module:
    name: str
    tree: ast.Module
    funcs: dict[str, Func] = field(default_factory=dict)  # top-level functions
    imports: dict[str, str] = field(default_factory=dict)  # local name -> module or module.attr
    consts: dict[str, list[ast.expr]] = field(default_factory=dict)


def _modules() -> dict[str, _Module]:
    out = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(BOT).with_suffix("").parts
        name = ".".join(("bot", *(parts[:-1] if parts[-1] == "__init__" else parts)))
        mod = _Module(name, ast.parse(path.read_text(encoding="utf-8")))
        for node in mod.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                mod.funcs[node.name] = node
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    mod.imports[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        mod.consts.setdefault(t.id, []).append(node.value)
        out[name] = mod
    return out


def _params(fn: Func, method: bool) -> list[str]:
    names = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    return names[1:] if method else names


class _Finder:
    def __init__(self) -> None:
        self.mods = _modules()
        self.methods: dict[str, list[tuple[_Module, Func]]] = {}
        self.owner: dict[int, tuple[_Module, Func, bool]] = {}  # id(fn) -> module, fn, method
        for mod in self.mods.values():
            for fn in mod.funcs.values():
                self.owner[id(fn)] = (mod, fn, False)
            for node in ast.walk(mod.tree):
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                            self.methods.setdefault(item.name, []).append((mod, item))
                            self.owner[id(item)] = (mod, item, True)
        self.bearing: dict[tuple[int, str], str] = {}  # (id(fn), param) -> catalog
        for (m, f, p), cat in SEEDS.items():
            if m in self.mods and f in self.mods[m].funcs:
                self.bearing[(id(self.mods[m].funcs[f]), p)] = cat
        self.keys: dict[str, set[str]] = {STAFF: set(), FAMILY: set()}

    def _callees(self, mod: _Module, call: ast.Call) -> list[Func]:
        f = call.func
        if isinstance(f, ast.Name):
            if f.id in mod.funcs:
                return [mod.funcs[f.id]]
            where, _, name = mod.imports.get(f.id, "").rpartition(".")
            home = self.mods.get(where)
            return [home.funcs[name]] if home and name in home.funcs else []
        if isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name) and f.value.id in mod.imports:
                found = self.mods.get(mod.imports[f.value.id])
                return [found.funcs[f.attr]] if found and f.attr in found.funcs else []
            return [fn for _, fn in self.methods.get(f.attr, [])]
        return []

    def _arg(self, call: ast.Call, fn: Func, param: str) -> ast.expr | None:
        for kw in call.keywords:
            if kw.arg == param:
                return kw.value
        names = _params(fn, self.owner[id(fn)][2])
        i = names.index(param) if param in names else -1
        args = call.args
        return args[i] if 0 <= i < len(args) and not isinstance(args[i], ast.Starred) else None

    def _values(self, expr: ast.expr, mod: _Module, fn: Func | None, cat: str,
                depth: int = 0) -> Iterator[str]:
        """String literals `expr` may hold; a parameter of `fn` becomes key-bearing."""
        if depth > 5:
            return
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            yield expr.value
        elif isinstance(expr, ast.IfExp):
            for e in (expr.body, expr.orelse):
                yield from self._values(e, mod, fn, cat, depth + 1)
        elif isinstance(expr, ast.BoolOp | ast.Dict):
            for e in expr.values:
                yield from self._values(e, mod, fn, cat, depth + 1)
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) \
                and expr.func.attr == "get" and isinstance(expr.func.value, ast.Dict):
            for e in (expr.func.value, *expr.args[1:]):  # {...}.get(kind, "default")
                yield from self._values(e, mod, fn, cat, depth + 1)
        elif isinstance(expr, ast.Name):
            yield from self._name(expr.id, mod, fn, cat, depth)

    def _name(self, name: str, mod: _Module, fn: Func | None, cat: str,
              depth: int) -> Iterator[str]:
        if fn is not None:
            method = self.owner.get(id(fn), (mod, fn, False))[2]
            params = _params(fn, method)
            if name in params:
                self.bearing.setdefault((id(fn), name), cat)
                args = fn.args
                defaults = dict(zip([a.arg for a in args.args][-len(args.defaults):],
                                    args.defaults, strict=True)) if args.defaults else {}
                defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults,
                                                      strict=True) if d is not None}
                if name in defaults:
                    yield from self._values(defaults[name], mod, fn, cat, depth + 1)
                return
            for node in ast.walk(fn):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                value = getattr(node, "value", None)
                if value is not None and any(isinstance(t, ast.Name) and t.id == name
                                             for t in targets):
                    yield from self._values(value, mod, fn, cat, depth + 1)
        for value in mod.consts.get(name, []):
            yield from self._values(value, mod, None, cat, depth + 1)

    def _family(self, call: ast.Call) -> bool:
        """`<...>.catalog.text(KEY, ...)` or `catalog.text(KEY, ...)`: a family text."""
        f = call.func
        if not (isinstance(f, ast.Attribute) and f.attr == "text" and call.args):
            return False
        r = f.value
        return (isinstance(r, ast.Name) and r.id == "catalog") or \
            (isinstance(r, ast.Attribute) and r.attr == "catalog")

    def run(self) -> dict[str, set[str]]:
        calls = [(mod, fn, node) for mod in self.mods.values()
                 for fn in self._functions(mod) for node in ast.walk(fn)
                 if isinstance(node, ast.Call)]
        size = -1
        while size != len(self.bearing):  # until no new parameter carries a key
            size = len(self.bearing)
            for mod, fn, call in calls:
                if self._family(call):
                    self.keys[FAMILY].update(self._values(call.args[0], mod, fn, FAMILY))
                for callee in self._callees(mod, call):
                    for (fid, param), cat in list(self.bearing.items()):
                        if fid == id(callee) and (arg := self._arg(call, callee, param)):
                            self.keys[cat].update(self._values(arg, mod, fn, cat))
        return self.keys

    def _functions(self, mod: _Module) -> Iterator[Func]:
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node


@cache
def used_keys() -> dict[str, frozenset[str]]:
    """{"staff": keys of flows/counselor, "family": keys of flows/catalog} named in bot/."""
    return {cat: frozenset(keys) for cat, keys in _Finder().run().items()}

"""A Griffe extension for the API reference: Sphinx roles in docstrings become links.

The library's docstrings cross-reference with Sphinx roles (``:class:`FaultConfig```,
``:meth:`Emulator.add_logs```, ``:func:`~._run.run_store```). Markdown does not know them,
so this extension rewrites each role, once the package is loaded, into an *optional*
mkdocs-autorefs reference: a link when the target is rendered somewhere in the reference,
plain code when it is not (a private helper, the standard library). Optional references
never fail a ``--strict`` build, and the library's docstrings stay as they are.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

__all__ = ["SphinxRoles", "rewrite"]

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(?P<target>[^`]+)`")
"""A Sphinx cross-reference role with its target, e.g. ``:class:`~pkg.Name```."""


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """The full dotted path ``target`` names from ``obj``'s scope, or None."""
    if target.startswith("."):  # relative to the module the docstring is in
        module = obj if obj.is_module else obj.module
        package = module if module.is_init_module else module.parent
        if package is None:
            return None
        dots = len(target) - len(target.lstrip("."))
        base = package
        for _ in range(dots - 1):
            if base.parent is None:
                return None
            base = base.parent
        return f"{base.path}.{target.lstrip('.')}"
    head, _, rest = target.partition(".")
    try:
        resolved = obj.resolve(head)
    except Exception:  # an unknown name (stdlib, third party, attribute of self)
        scope = obj if obj.is_class else obj.parent
        if scope is not None and head in scope.members:
            resolved = scope.members[head].path
        else:
            return target if "." in target else None
    return f"{resolved}.{rest}" if rest else resolved


def rewrite(obj: griffe.Object, text: str) -> str:
    """``text`` with every Sphinx role turned into an optional autorefs reference."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        shown = target
        if target.startswith("~"):
            target = target[1:]
            shown = target.rsplit(".", 1)[-1]
        code = f"<code>{html.escape(shown)}</code>"
        path = _resolve(obj, target)
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Walk the package once it is loaded (names resolve across modules by then)."""
        seen: set[str] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.path in seen:
                continue
            seen.add(obj.path)
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
            stack.extend(
                member for member in obj.members.values() if isinstance(member, griffe.Object)
            )

"""Every setting of the project is in docs/configuration.md.

Collected from the source: each environment variable read (`env_*("XINAN_…")` in settings.py
and elsewhere, `os.environ` reads of XINAN_ names), and each project setting the code reads
(`settings.NAME`, `getattr(settings, "NAME", default)`) that is not one of Django's own. A
setting read from an environment variable counts as documented when its variable is; a family
read with an f-string (`getattr(settings, f"SMD_{name}", …)`) expands to the names its
function is called with (`conf("FIRST_VISIT_DAYS", 14)` → SMD_FIRST_VISIT_DAYS).
"""

import ast
import re
from pathlib import Path

from django.conf import global_settings

import xinan

ROOT = Path(xinan.__file__).parent
DOC = ROOT.parent / "docs" / "configuration.md"
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_list", "env_secret"}
ENV_NAME = re.compile(r"^(XINAN_[A-Z0-9_]+|DATABASE_URL)$")


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        yield path
    yield ROOT.parent / "conftest.py"  # the test run's own switches (XINAN_STRICT…)


def _const(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _env_reads(tree) -> set[str]:
    """XINAN_* names read by env_*(…), os.environ.get(…), os.environ[…], os.getenv(…)."""
    names = set()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            is_environ_get = (
                called == "get"
                and isinstance(func, ast.Attribute)
                and getattr(func.value, "attr", "") == "environ"
            )
            if called in ENV_HELPERS or called == "getenv" or is_environ_get:
                name = _const(node.args[0])
        elif isinstance(node, ast.Subscript) and getattr(node.value, "attr", "") == "environ":
            name = _const(node.slice)
        if name and ENV_NAME.match(name):
            names.add(name)
    return names


def _is_settings(node) -> bool:
    return isinstance(node, ast.Name) and node.id == "settings"


def _setting_reads(tree) -> tuple[set[str], dict[tuple[str, int], str]]:
    """Setting names read, and the f-string families: (function, argument index) → prefix."""
    names, families = set(), {}
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _is_settings(node.value)
            and node.attr.isupper()
            and isinstance(node.ctx, ast.Load)  # not a test's `settings.X = …`
        ):
            names.add(node.attr)
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "getattr"
            and len(node.args) >= 2
            and _is_settings(node.args[0])
        ):
            key = node.args[1]
            if _const(key):
                names.add(key.value)
            elif isinstance(key, ast.JoinedStr) and _const(key.values[0]):
                func = parents.get(node)
                while func is not None and not isinstance(func, ast.FunctionDef):
                    func = parents.get(func)
                arg = key.values[1].value if len(key.values) > 1 else None
                params = [a.arg for a in func.args.args] if func else []
                if isinstance(arg, ast.Name) and arg.id in params:
                    families[(func.name, params.index(arg.id))] = key.values[0].value
                else:
                    names.add(key.values[0].value + "*")  # unresolvable: the prefix must be named
    return names, families


def _family_members(trees, families) -> set[str]:
    members = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            for (function, index), prefix in families.items():
                if called == function and len(node.args) > index and _const(node.args[index]):
                    members.add(prefix + node.args[index].value)
    return members


def _env_of_settings() -> dict[str, set[str]]:
    """For each top-level setting of xinan/settings.py, the variables its value reads."""
    tree = ast.parse((ROOT / "settings.py").read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, set()).update(_env_reads(node))
    return out


def collect() -> tuple[set[str], set[str]]:
    trees = [ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for p in _sources()]
    env, settings_read, families = set(), set(), {}
    for tree in trees:
        env |= _env_reads(tree)
        names, fams = _setting_reads(tree)
        settings_read |= names
        families |= fams
    settings_read |= _family_members(trees, families)
    django_own = {n for n in dir(global_settings) if n.isupper()}
    return env, {n for n in settings_read if n not in django_own}


def undocumented(doc: str) -> list[str]:
    env, settings_read = collect()
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9_]*\*?)`", doc))
    via_env = _env_of_settings()
    missing = sorted(n for n in env if n not in mentioned)
    for name in sorted(settings_read):
        if name in mentioned or via_env.get(name, set()) & mentioned:
            continue
        missing.append(f"{name} (a setting)")
    return missing


def test_every_setting_and_variable_is_in_docs_configuration():
    missing = undocumented(DOC.read_text(encoding="utf-8"))
    assert not missing, (
        "not in docs/configuration.md (add a row: what it does, its default, its unit): "
        + ", ".join(missing)
    )


def test_the_collection_finds_what_the_code_reads():
    env, settings_read = collect()
    # one of each shape: env_int in settings.py, os.environ in the server command, getattr
    # with a default, settings.NAME, and a family built with an f-string (xinan/smd)
    assert {"XINAN_BREAK_GLASS_HOURS", "XINAN_WORKERS", "DATABASE_URL"} <= env
    assert {"SMALL_CELL_THRESHOLD", "SCREENING_IMPORT_INLINE", "SMD_FIRST_VISIT_DAYS"} <= (
        settings_read
    )
    assert "AUTH_USER_MODEL" not in settings_read  # Django's own
    assert "XINAN_BREAK_GLASS_HOURS" in undocumented("nothing documented")
    assert "SMALL_CELL_THRESHOLD (a setting)" in undocumented("nothing documented")
    assert "SMALL_CELL_THRESHOLD (a setting)" not in undocumented("`XINAN_SMALL_CELL_THRESHOLD`")

"""Adopting a repository we did not make: fit the template to the layout it has.

The template renders a ``src/<package>/`` package, a setuptools ``setup.cfg`` and a
few placeholder files. A repository made by another tool has its own layout, and
adoption must keep it working:

* its package is found where it is (``src/<pkg>/``, a flat ``<pkg>/`` as
  cookiecutter-data-science v2 makes, or ``src/`` itself as a package, as v1 made);
  a flat package never gets a second ``src/<pkg>/`` beside it: the template's
  modules are skipped, and a note says how to take them;
* a template module never shadows the team's sub-package (``features.py`` beside
  ``features/``): it is skipped, and so is every template file that imports or runs
  a skipped module (its tests, ``dvc.yaml``), each with the reason;
* the template's ``setup.cfg`` never redirects packaging away from the team's
  package (``package_dir = =src`` beside a flat package) nor repeats the metadata
  the team keeps in ``pyproject.toml [project]``; the team's ``README.rst`` or
  ``LICENSE`` is used instead of adding the template's twin;
* pyscaffoldext-dsproject's ``[pyscaffold] extensions = dsproject`` becomes
  ``dsproject_ops`` (PyScaffold's ``putup --update`` loads the extensions recorded),
  and its ``data/*/.gitignore`` files (``*``) let DVC pointer files through;
* an untracked (often git-ignored) file the template would add with the same
  bytes, such as an empty ``data/raw/.gitkeep``, never blocks: it stays as it is;
* a ``requirements.txt`` pinning another version of a package the template pins
  is reported, so the team picks one;
* what was skipped is recorded in ``setup.cfg [dsops.validate] per-path-ignores``,
  so ``dsops validate`` does not call it missing.

Everything here is pure: tracked file names, texts and the plan in; adjusted texts,
changes and notes out. :mod:`.fitting` reads the repository and calls these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping

from .plan import ADDED, KEPT, MERGED, SKIPPED, UNCHANGED, Change

OLD_EXTENSION = "dsproject"
NEW_EXTENSION = "dsproject_ops"


@dataclass(frozen=True)
class Layout:
    """Where the team's Python package is, from the names of the tracked files."""

    # The package folder: "src/churn", "sales_forecast" (flat) or "src" (ccds v1,
    # where src/ itself is the package); "" when the repository has none.
    package_dir: str = ""
    # Tracked files (relative paths) under the package folder.
    files: frozenset[str] = frozenset()

    @property
    def flat(self) -> bool:
        return bool(self.package_dir) and not (
            self.package_dir.startswith("src/") and self.package_dir.count("/") == 1
        )

    @property
    def package(self) -> str:
        """The import name of the team's package ("" for none, or for ``src/``)."""
        name = self.package_dir.rsplit("/", 1)[-1]
        return "" if name == "src" or not name.isidentifier() else name


def find_layout(tracked: Iterable[str], preferred: str = "") -> Layout:
    """The team's package among the tracked files (the repository model's finder):
    a src-layout package first (the one named ``preferred`` if there are several),
    then a flat one (``src/`` itself counts, as cookiecutter-data-science v1 made it)."""
    from ..repository.layout import packages

    names = list(tracked)
    found = [p for p in packages(names) if p.style in ("src", "flat")]
    if not found:
        return Layout()
    by_style = sorted(found, key=lambda p: (p.style != "src", p.name != preferred, p.folder))
    folder = by_style[0].folder
    prefix = folder + "/"
    return Layout(folder, frozenset(p for p in names if p.startswith(prefix)))


# --- the template's files, fitted to the layout ---------------------------------------


def adapt_theirs(
    theirs: Mapping[str, str], layout: Layout, read: Callable[[str], "str | None"]
) -> tuple[dict[str, str], list[str]]:
    """The template's rendering, fitted to a foreign repository (adoption only)."""
    out = dict(theirs)
    notes: list[str] = []
    cfg = out.get("setup.cfg")
    if cfg is None:
        return out, notes
    drop_sections: list[str] = []
    drop_options: list[tuple[str, str]] = []
    if layout.flat:
        drop_options += [("options", "package_dir"), ("options", "packages")]
        drop_sections += ["options.packages.find", "options.package_data"]
        drop_sections += ["options.entry_points"]  # the template's cli module is not added
        notes.append(
            f"setup.cfg: the template's src/ package finding is left out: your package is "
            f"{layout.package_dir}/"
        )
    if _has_project_table(read("pyproject.toml")) and not _has_metadata(read("setup.cfg")):
        # The team's metadata and dependencies live in pyproject.toml [project]: the
        # template's [metadata]/[options] would give setuptools a second, different copy.
        # Only [metadata] name stays: the record of the answers names the project by it.
        drop_options += [("metadata", key) for key in _options(cfg, "metadata") if key != "name"]
        drop_sections += ["options", "options.packages.find"]
        drop_sections += ["options.package_data", "options.extras_require"]
        drop_sections += ["options.entry_points"]
        notes.append(
            "setup.cfg: the template's [metadata] (but its name) and [options] are left out: "
            "your project is described in pyproject.toml [project]"
        )
    if drop_sections or drop_options:
        cfg = out["setup.cfg"] = _drop_ini(cfg, set(drop_sections), set(drop_options))
    renamed = {}
    for name in ("README.md", "LICENSE.txt"):
        own = [n for n in EQUIVALENTS[name] if read(name) is None and read(n) is not None]
        if own:
            renamed[name] = own[0]
    if renamed:
        # The template's README.md / LICENSE.txt are not added beside the team's own:
        # packaging and the image use the team's.
        out["setup.cfg"] = _documents(cfg, renamed)
        if "Dockerfile" in out:
            out["Dockerfile"] = "".join(
                _copy_line(line, renamed) for line in out["Dockerfile"].splitlines(True)
            )
    return out, notes


def _copy_line(line: str, renamed: Mapping[str, str]) -> str:
    if not line.startswith("COPY "):
        return line
    return " ".join(renamed.get(word, word) for word in line.split(" "))


def _documents(text: str, renamed: Mapping[str, str]) -> str:
    from configupdater import ConfigUpdater

    updater = ConfigUpdater()
    updater.read_string(text)
    if not updater.has_section("metadata"):
        return text
    meta = updater["metadata"]
    readme = renamed.get("README.md")
    if readme and meta.has_option("long_description"):
        meta["long_description"].value = f"file: {readme}"
        if meta.has_option("long_description_content_type"):
            kind = "text/x-rst" if readme.endswith(".rst") else "text/plain"
            meta["long_description_content_type"].value = f"{kind}; charset=UTF-8"
    license_file = renamed.get("LICENSE.txt")
    if license_file and meta.has_option("license_files"):
        meta["license_files"].value = license_file
    return str(updater)


def _options(text: str, section: str) -> list[str]:
    from configupdater import ConfigUpdater

    updater = ConfigUpdater()
    updater.read_string(text)
    return list(updater[section].keys()) if updater.has_section(section) else []


def _drop_ini(text: str, sections: set[str], options: set[tuple[str, str]]) -> str:
    from configupdater import ConfigUpdater

    updater = ConfigUpdater()
    updater.read_string(text)
    for name in sections:
        if updater.has_section(name):
            updater.remove_section(name)
    for section, option in options:
        if updater.has_section(section) and updater[section].has_option(option):
            del updater[section][option]
    return str(updater)


def _has_project_table(text: str | None) -> bool:
    if text is None:
        return False
    from ..repository.formats import toml_loads

    try:
        project = toml_loads(text).get("project")
    except ValueError:  # TOMLDecodeError is a ValueError in tomllib and tomli
        return False
    return isinstance(project, dict) and bool(project.get("name"))


def _has_metadata(text: str | None) -> bool:
    if text is None:
        return False
    return bool(re.search(r"^\[metadata\]\s*$", text, re.MULTILINE))


# --- setup.cfg: the record of pyscaffoldext-dsproject -----------------------------------


def migrate_record(setup_cfg: str, pyscaffold_version: str) -> str:
    """``[pyscaffold] extensions``: ``dsproject`` (pyscaffoldext-dsproject) becomes
    ``dsproject_ops``, and ``version`` the PyScaffold version the template records, so
    ``putup --update`` finds the extension and the record tells one story."""
    from configupdater import ConfigUpdater

    updater = ConfigUpdater()
    updater.read_string(setup_cfg)
    if not updater.has_section("pyscaffold"):
        return setup_cfg
    section = updater["pyscaffold"]
    if not section.has_option("extensions"):
        return setup_cfg
    option = section["extensions"]
    names = [n.strip() for n in re.split(r"[\s,]+", option.value or "") if n.strip()]
    if OLD_EXTENSION not in names:
        return setup_cfg
    migrated: list[str] = []
    for name in names:
        name = NEW_EXTENSION if name == OLD_EXTENSION else name
        if name not in migrated:
            migrated.append(name)
    option.set_values(migrated)
    if section.has_option("version"):
        section["version"].value = pyscaffold_version
    return str(updater)


# --- the plan, fitted to the layout ----------------------------------------------------


# The team's own document under another name: the template's is not added beside it.
EQUIVALENTS = {
    "README.md": ("README", "README.rst", "README.txt"),
    "LICENSE.txt": ("LICENSE", "LICENSE.md", "LICENSE.rst", "COPYING"),
    "CHANGELOG.md": ("CHANGELOG.rst", "CHANGELOG", "CHANGES.md", "CHANGES.rst", "HISTORY.md"),
    "AUTHORS.md": ("AUTHORS", "AUTHORS.rst"),
    "docs/index.md": ("docs/index.rst",),
}


def adjust(
    changes: list[Change],
    layout: Layout,
    template_package: str,
    untracked: Callable[[str], "bytes | None"],
    tracked: frozenset[str] = frozenset(),
) -> list[Change]:
    """Skip what would break the team's layout, the template files that need what was
    skipped, and documents the team has under another name (``README.rst``); never
    block on an identical placeholder.

    ``untracked(path)``: the bytes of an untracked (or ignored) file in the way, or None;
    ``tracked``: the repository's tracked files (when adopting).
    """
    out = []
    for c in changes:
        if c.kind != ADDED:
            out.append(c)
            continue
        note = layout_conflict(c.path, layout, template_package)
        own = [name for name in EQUIVALENTS.get(c.path, ()) if name in tracked]
        if own and not note:
            note = f"you have {own[0]}"
        if note:
            out.append(replace(c, kind=SKIPPED, text=None, note=note))
            continue
        present = untracked(c.path)
        if present is not None and c.text is not None and present == c.text.encode("utf-8"):
            out.append(
                replace(
                    c,
                    kind=KEPT,
                    text=None,
                    note="already there, untracked (git-ignored?) and the same as the "
                    "template's: left as it is",
                )
            )
            continue
        out.append(c)
    return _skip_dependents(_skip_document_users(out), template_package)


# Template files that cannot work without a template document: the MkDocs site's home
# page is docs/index.md; a team whose docs are Sphinx (docs/index.rst) keeps its own
# docs, and a mkdocs.yml whose nav starts at a missing page would not build (DOC003).
DOCUMENT_NEEDS = {"mkdocs.yml": "docs/index.md"}


def _skip_document_users(changes: list[Change]) -> list[Change]:
    skipped = {c.path: c.note for c in changes if c.kind == SKIPPED}
    out = []
    for c in changes:
        needed = DOCUMENT_NEEDS.get(c.path)
        if c.kind == ADDED and needed in skipped:
            note = f"needs {needed}, which is not added ({skipped[needed]})"
            c = replace(c, kind=SKIPPED, text=None, note=note)
        out.append(c)
    return out


def _skip_dependents(changes: list[Change], package: str) -> list[Change]:
    """Template files that import (or run) a skipped template module are skipped too:
    a test of a module that is not there, or a DVC stage running it, cannot work."""
    prefix = f"src/{package}/"
    skipped = {
        c.path[len(prefix) : -len(".py")]
        for c in changes
        if c.kind == SKIPPED and c.path.startswith(prefix) and c.path.endswith(".py")
    }
    skipped.discard("__init__")
    out = list(changes)
    while skipped:
        found: set[str] = set()
        for n, c in enumerate(out):
            if c.kind != ADDED or c.text is None or c.path.endswith(".md"):
                continue  # documents may name a module; only code and pipelines need it
            needed = sorted(m for m in skipped if _uses(c.text, package, m, c.path, prefix))
            if needed:
                names = ", ".join(f"{package}.{m}" for m in needed)
                verb = "is" if len(needed) == 1 else "are"
                out[n] = replace(
                    c, kind=SKIPPED, text=None, note=f"needs {names}, which {verb} not added"
                )
                if c.path.startswith(prefix) and c.path.endswith(".py"):
                    found.add(c.path[len(prefix) : -len(".py")])
        skipped = found
    return out


# Needs that no import shows: the image runs the project's console script (the cli
# module) to serve the model (the serve module).
HIDDEN_NEEDS = {"Dockerfile": ("cli", "serve")}


def _uses(text: str, package: str, module: str, path: str, prefix: str) -> bool:
    if module in HIDDEN_NEEDS.get(path, ()):
        return True
    pkg, mod = re.escape(package), re.escape(module)
    patterns = [
        rf"\b{pkg}\.{mod}\b",
        rf"\bsrc/{pkg}/{mod}\.py\b",
        rf"\bfrom {pkg} import [^\n]*\b{mod}\b",
    ]
    if path.startswith(prefix):
        patterns += [rf"^\s*from \.{mod} import\b", rf"^\s*from \. import [^\n]*\b{mod}\b"]
    return any(re.search(p, text, re.MULTILINE) for p in patterns)


def layout_conflict(path: str, layout: Layout, template_package: str) -> str:
    """Why the template's ``path`` does not fit the team's layout ("" if it fits).

    The one rule for both the upgrade (which skips such a file) and ``dsops validate``
    (which does not call it missing)."""
    template_dir = f"src/{template_package}/"
    if not path.startswith(template_dir):
        return ""
    if layout.package_dir and layout.flat:
        return f"beside your package {layout.package_dir}/ (see the note below)"
    inner = path[len(template_dir) :]
    if "/" in inner or not inner.endswith(".py"):
        return ""
    folder = template_dir + inner[: -len(".py")] + "/"
    if any(p.startswith(folder) for p in layout.files):
        return (
            f"it would shadow your package {folder}: the template's module is not added "
            "(rename yours to take it)"
        )
    return ""


def layout_notes(layout: Layout, template_package: str, changes: list[Change]) -> list[str]:
    """One explanation for every template module skipped beside a flat package."""
    if not any(c.kind == SKIPPED and c.note.startswith("beside ") for c in changes):
        return []
    target = f"src/{template_package}"
    if layout.package_dir == "src":
        return [
            f"your package is src/ itself (cookiecutter-data-science v1): the template's "
            f"{target}/ would sit inside it and is not added; to take the template's modules, "
            f"move your sub-packages into {target}/ (imports `src.x` become "
            f"`{template_package}.x`), commit, and upgrade again"
        ]
    return [
        f"your package is {layout.package_dir}/ (flat layout): the template's {target}/ is "
        f"not added beside it; to take the template's modules, `git mv {layout.package_dir} "
        f"{target}`, commit, and upgrade again"
    ]


# --- requirements.txt ------------------------------------------------------------------


def requirement_notes(requirements: str | None, pins: Mapping[str, str]) -> list[str]:
    """``requirements.txt`` pins that disagree with the template's pins."""
    if not requirements:
        return []
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from ..repository.requirements import canonical, parse

    wanted = {canonical(k): v for k, v in pins.items()}
    notes = []
    for number, raw in enumerate(requirements.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        req = parse(line, number)
        if req.error or req.name not in wanted:
            continue
        new = wanted[req.name]
        if req.pinned is not None:
            if req.pinned != new:
                notes.append(
                    f"requirements.txt:{number}: {line}, but the template pins "
                    f"{req.name}=={new} (environment.yml, setup.cfg): pick one"
                )
            continue
        try:
            allowed = new in SpecifierSet(req.specifier)
        except InvalidSpecifier:
            continue
        if not allowed:
            notes.append(
                f"requirements.txt:{number}: {line} excludes the template's pin "
                f"{req.name}=={new}: pick one"
            )
    return notes


def migrated_ours(
    ours: Mapping[str, "str | None"], pyscaffold_version: str
) -> dict[str, "str | None"]:
    """The repository's files as the plan should see them: the old extension's record
    migrated (the plan then merges the template's record into the migrated text)."""
    out = dict(ours)
    cfg = out.get("setup.cfg")
    # Cheap test first: configupdater costs a tenth of a second to import.
    if cfg is not None and re.search(rf"\b{OLD_EXTENSION}\b(?!_)", cfg):
        try:
            out["setup.cfg"] = migrate_record(cfg, pyscaffold_version)
        except Exception:  # configupdater's own errors: a setup.cfg it cannot read stays as is
            pass
    return out


def restore_ours(changes: list[Change], ours: Mapping[str, "str | None"]) -> list[Change]:
    """Changes planned from :func:`migrated_ours`, told against the real files: a
    migration alone is a change to write (``merged cleanly``), never ``unchanged``."""
    out = []
    for c in changes:
        real = ours.get(c.path)
        if c.ours is None or real is None or c.ours == real:
            out.append(c)
            continue
        if c.kind in (UNCHANGED, KEPT):
            out.append(
                replace(
                    c,
                    kind=MERGED,
                    text=c.ours,
                    ours=real,
                    note="[pyscaffold] extensions: dsproject is now dsproject_ops",
                )
            )
        else:
            note = "; ".join(filter(None, [c.note, "[pyscaffold] dsproject is now dsproject_ops"]))
            out.append(replace(c, ours=real, note=note))
    return out


IGNORE_SECTION = "dsops.validate"
IGNORE_COMMENT = (
    "# Template files dsops upgrade left out: they do not fit this repository's\n"
    "# package layout (see its report). Drop a line once the file exists.\n"
)


def ignore_skipped(setup_cfg: str, skipped: Iterable[str]) -> str:
    """The template's ``setup.cfg`` with ``[dsops.validate] per-path-ignores`` for the
    skipped files, so ``dsops validate`` does not call them missing (LAY001): the
    decision is written in the repository, where the team sees and can undo it."""
    from configupdater import ConfigUpdater

    paths = sorted(set(skipped))
    if not paths:
        return setup_cfg
    updater = ConfigUpdater()
    updater.read_string(setup_cfg)
    if not updater.has_section(IGNORE_SECTION):
        text = str(updater).rstrip("\n") + f"\n\n[{IGNORE_SECTION}]\n{IGNORE_COMMENT}"
        updater = ConfigUpdater()
        updater.read_string(text)
    section = updater[IGNORE_SECTION]
    lines = [f"{p}: LAY001" for p in paths]
    if section.has_option("per-path-ignores"):
        old = [v for v in (section["per-path-ignores"].value or "").splitlines() if v.strip()]
        lines = old + [line for line in lines if line not in old]
    section.set("per-path-ignores")
    section["per-path-ignores"].set_values(lines)
    return str(updater)


DVC_POINTERS = "# DVC pointer files (*.dvc) are tracked by git (dsops upgrade added this)\n!*.dvc\n"


def unhide_dvc_pointers(
    files: Iterable[str], read: Callable[[str], "str | None"]
) -> dict[str, str]:
    """``{path: new text}`` for the team's own ``data/**/.gitignore`` files that hide
    everything (pyscaffoldext-dsproject's ``*`` / ``!.gitignore``): they would hide the
    DVC pointer files too, which the template's root ``.gitignore`` cannot re-include
    (a deeper file's rules win)."""
    from ..repository.ignore import IgnoreRules

    out = {}
    for rel in files:
        if not (rel.startswith("data/") and rel.endswith("/.gitignore")):
            continue
        text = read(rel)
        if text is None:
            continue
        folder = rel[: -len(".gitignore")]
        if IgnoreRules({rel: text}).ignored(folder + "x.csv.dvc"):
            out[rel] = text + ("" if text.endswith("\n") or not text else "\n") + DVC_POINTERS
    return out

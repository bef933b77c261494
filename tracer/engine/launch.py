"""How Python would run a learner's file, so that a repository's own imports work under the tracer.

* A plain script runs as `python path/to/script.py`: its folder goes first on sys.path.
* A script inside a package that uses relative imports (`from .model import GPT`) only runs as
  `python -m pkg.train` from the folder above the package: we run it that way.
* The repository's root (and its `src/` folder) go on sys.path after that, as an editable
  install (`pip install -e .`) would put them: `from mypkg.model import Net` works from a
  script in `scripts/` or `projects/x/`, and in a `src/` layout.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")


@dataclass(frozen=True)
class Launch:
    script: Path            # absolute path of the file run as __main__
    package: str | None     # __package__ of __main__ for a `python -m` style run, else None
    path: tuple[str, ...]   # sys.path entries to put first, in order


def _has_relative_imports(script: Path) -> bool:
    try:
        tree = ast.parse(script.read_bytes())        # bytes: honours a coding cookie or a BOM, as Python does
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    return any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


def _package_top(folder: Path) -> Path:
    """The outermost package folder above `folder` (itself if it is the top one); `folder` if no package."""
    top = folder
    while (top / "__init__.py").is_file() and (top.parent / "__init__.py").is_file():
        top = top.parent
    return top


def repo_root(script: Path) -> Path:
    """The repository a script belongs to: its folder, the folder above its packages, or one level up from a
    `scripts/`-like folder or `src/` when that parent is a project root (.git, pyproject.toml, setup.py)."""
    folder = Path(script).resolve().parent
    if (folder / "__init__.py").is_file():
        folder = _package_top(folder).parent
    if folder.name == "src":
        folder = folder.parent
    if not any((folder / m).exists() for m in ROOT_MARKERS) and any((folder.parent / m).exists()
                                                                    for m in ROOT_MARKERS):
        folder = folder.parent
    for name in _top_level_imports(script):   # `from mingpt.model import GPT` in projects/adder/adder.py
        if _provides(folder, name):
            continue
        for above in list(folder.parents)[:3]:
            if _provides(above, name):
                folder = above
                break
    return folder


def _top_level_imports(script: Path) -> list[str]:
    try:
        tree = ast.parse(Path(script).read_bytes())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


def _provides(folder: Path, name: str) -> bool:
    """Does `folder` (or its src/) hold the package or module `name`?"""
    return any((base / name / "__init__.py").is_file() or (base / f"{name}.py").is_file()
               for base in (folder, folder / "src"))


def plan(script: Path, repo_dir: Path | None = None) -> Launch:
    """How to run `script` (see the module's docstring); `repo_dir`: the repository's root if known."""
    script = Path(script).resolve()
    folder = script.parent
    package = None
    path = [str(folder)]
    if (folder / "__init__.py").is_file() and _has_relative_imports(script):
        top = _package_top(folder)
        package = ".".join(folder.relative_to(top.parent).parts)
        path = [str(top.parent)]
    root = Path(repo_dir).resolve() if repo_dir else repo_root(script)
    for extra in (root, root / "src"):
        if extra.is_dir() and str(extra) not in path:
            path.append(str(extra))
    return Launch(script, package, tuple(path))

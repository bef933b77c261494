"""Stop points in every module of a repository the script imports: packages, `python -m` style runs, src/."""
import sys
import textwrap
from pathlib import Path

import pytest

from tracer.engine import anchors, launch
from tracer.engine.stops import CONTINUE, Engine, StopPoint


class Stops:
    def __init__(self):
        self.seen = []

    def user_stop(self, frame, point):
        self.seen.append((Path(frame.f_code.co_filename).relative_to(point.key[0]).as_posix(), point.key[1],
                          frame.f_code.co_name))
        return CONTINUE


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))


def run(root: Path, script: str, points: list[tuple[str, str]], repo_dir: Path | None = None) -> list:
    client = Stops()
    stops = []
    for file, at in points:
        line = anchors.resolve(root / file, at).line
        stops.append(StopPoint(str((root / file).resolve()), line, key=(root.resolve(), at)))
    before = set(sys.modules)
    Engine(stops, repo_dir or root, client).run_script(root / script, [])
    assert not {m for m in set(sys.modules) - before if m.split(".")[0] in ("pkg", "mypkg")}, "modules left behind"
    return client.seen


NET = """
def forward(x):
    y = x * 3
    return y
"""


def test_a_package_layout_repo_gets_stops_in_a_sub_module(tmp_path):
    write(tmp_path, {"train.py": "from pkg.models.net import forward\nloss = forward(2) - 1\n",
                     "pkg/__init__.py": "", "pkg/models/__init__.py": "from .net import forward\n",
                     "pkg/models/net.py": NET})
    seen = run(tmp_path, "train.py", [("train.py", "loss = forward(2) - 1"), ("pkg/models/net.py", "y = x * 3")])
    assert seen == [("train.py", "loss = forward(2) - 1", "<module>"), ("pkg/models/net.py", "y = x * 3", "forward")]


def test_a_script_with_relative_imports_runs_as_python_dash_m(tmp_path):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/net.py": NET,
                     "pkg/train.py": "from .net import forward\nassert __package__ == 'pkg'\nout = forward(1)\n"})
    assert launch.plan(tmp_path / "pkg" / "train.py").package == "pkg"
    seen = run(tmp_path, "pkg/train.py", [("pkg/net.py", "y = x * 3")])
    assert seen == [("pkg/net.py", "y = x * 3", "forward")]


def test_a_src_layout_is_importable_from_a_scripts_folder(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'mypkg'\n", "src/mypkg/__init__.py": "",
                     "src/mypkg/net.py": NET, "scripts/train.py": "from mypkg.net import forward\nforward(5)\n"})
    assert launch.repo_root(tmp_path / "scripts" / "train.py") == tmp_path.resolve()
    seen = run(tmp_path, "scripts/train.py", [("src/mypkg/net.py", "y = x * 3")], repo_dir=tmp_path)
    assert seen == [("src/mypkg/net.py", "y = x * 3", "forward")]


def test_modules_without_stops_import_as_usual(tmp_path):
    write(tmp_path, {"train.py": "import json, pkg.util\nprint(pkg.util.VALUE)\n",
                     "pkg/__init__.py": "", "pkg/util.py": "VALUE = 7\n", "pkg/net.py": NET})
    assert run(tmp_path, "train.py", [("pkg/net.py", "y = x * 3")]) == []


@pytest.mark.parametrize("layout, expected", [
    ({"ppo/train.py": ""}, "ppo"),
    ({"repo/.git/HEAD": "", "repo/scripts/train.py": ""}, "repo"),
    ({"repo/pkg/__init__.py": "", "repo/pkg/sub/__init__.py": "", "repo/pkg/sub/train.py": ""}, "repo"),
    ({"repo/mingpt/__init__.py": "", "repo/projects/adder/train.py": "from mingpt.model import GPT\n"}, "repo"),
    ({"repo/projects/adder/train.py": "import torch\nfrom helper import f\n", "repo/projects/adder/helper.py": ""},
     "repo/projects/adder"),
])
def test_repo_root(tmp_path, layout, expected):
    write(tmp_path, layout)
    script = next(tmp_path / name for name in layout if name.endswith("train.py"))
    assert launch.repo_root(script) == (tmp_path / expected).resolve()

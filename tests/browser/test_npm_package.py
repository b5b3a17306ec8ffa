"""The browser client as an npm package: `npm pack` of `clients/js` ships the modules and
the TypeScript declarations generated from their JSDoc (and nothing else: no demo, no
dependencies), installs into a fresh TypeScript + React project (a copy of
`ts-consumer/`), which type-checks strictly against it, and the package's entry points
load. The committed declarations (`clients/js/types/`) are what `tsc` generates now.

The tools (TypeScript, React and their types, exact versions) are `ts-consumer/`'s,
installed by `make pytest` (`npm ci --prefix tests/browser/ts-consumer`); without them,
or without Node, these tests skip (and fail under CI).
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "clients" / "js"
CONSUMER_DIR = Path(__file__).resolve().parent / "ts-consumer"
TSC = CONSUMER_DIR / "node_modules" / ".bin" / "tsc"
TIMEOUT = 180


def run(*args: str | Path, cwd: Path) -> str:
    """Run a Node tool; its output, or the test fails with it."""
    program = shutil.which(str(args[0])) if not Path(args[0]).is_absolute() else str(args[0])
    if program is None or not Path(program).exists():
        skip_or_fail(f"{args[0]} is not installed (Node 20 and `npm ci --prefix tests/browser/ts-consumer`)")
    done = subprocess.run(
        [program, *map(str, args[1:])], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """`npm pack` of clients/js: the tarball and the files in it."""
    out = tmp_path_factory.mktemp("pack")
    packed = json.loads(run("npm", "pack", CLIENT_DIR, "--json", "--pack-destination", out, cwd=out))[0]
    return out / packed["filename"], sorted(entry["path"] for entry in packed["files"])


def test_the_package_ships_every_module_and_its_declarations_and_nothing_else(
    tarball: tuple[Path, list[str]],
) -> None:
    _, files = tarball
    modules = sorted(path.name for path in CLIENT_DIR.glob("*.js"))
    declarations = sorted(f"types/{name.removesuffix('.js')}.d.ts" for name in modules)
    assert files == sorted(["README.md", "package.json", *modules, *declarations])

    manifest = json.loads((CLIENT_DIR / "package.json").read_text())
    assert "dependencies" not in manifest  # no runtime dependencies
    assert manifest["peerDependenciesMeta"]["react"]["optional"] is True
    for entry, target in manifest["exports"].items():
        if isinstance(target, dict):
            assert (CLIENT_DIR / target["default"]).exists(), entry
            assert (CLIENT_DIR / target["types"]).exists(), entry


def test_the_committed_declarations_are_what_tsc_generates(tmp_path: Path) -> None:
    if not TSC.exists():
        skip_or_fail("TypeScript is not installed: run `npm ci --prefix tests/browser/ts-consumer`")
    run(TSC, "-p", CONSUMER_DIR / "tsconfig.declarations.json", "--outDir", tmp_path, cwd=CONSUMER_DIR)
    fresh = sorted(path.name for path in tmp_path.iterdir())
    committed = sorted(path.name for path in (CLIENT_DIR / "types").iterdir())
    assert fresh == committed, "regenerate them: make js-types"
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, CLIENT_DIR / "types", fresh, shallow=False)
    assert not mismatch and not errors, f"stale declarations {mismatch + errors}: make js-types"


def test_a_typescript_react_project_installs_the_tarball_and_type_checks_strictly(
    tarball: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, _ = tarball
    project = tmp_path / "app"
    project.mkdir()
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        shutil.copy(CONSUMER_DIR / name, project / name)
    shutil.copytree(CONSUMER_DIR / "src", project / "src")
    npm_install = ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]
    run(*npm_install, path, cwd=project)
    installed = project / "node_modules" / "tasksync"
    assert (installed / "types" / "tasksync.d.ts").exists()

    run(project / "node_modules" / ".bin" / "tsc", "-p", project, "--noEmit", "--strict", cwd=project)

    # The entry points resolve and load (the client touches no browser API until used).
    loaded = run(
        "node",
        "--input-type=module",
        "-e",
        "const m = await import('tasksync'); const r = await import('tasksync/react');"
        "console.log([typeof m.TasksyncClient, typeof m.LiveStore, typeof r.useLiveTasks].join(' '))",
        cwd=project,
    )
    assert loaded.split() == ["function", "function", "function"]

"""The browser client as an npm package: `npm pack` of `clients/js` ships the modules and
the TypeScript declarations generated from their JSDoc (and nothing else: no demo, no
dependencies), installs into a fresh TypeScript + React project (a copy of
`ts-consumer/`), which type-checks strictly against it, and the package's entry points
load. Every ```ts and ```tsx snippet of the package's README compiles there too, as
written. The committed declarations (`clients/js/types/`) are what `tsc` generates now.

The tools (TypeScript, React and their types, exact versions) are `ts-consumer/`'s,
installed by `make pytest` (`npm ci --prefix tests/browser/ts-consumer`); without them,
or without Node, these tests skip (and fail under CI).
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "clients" / "js"
CONSUMER_DIR = Path(__file__).resolve().parent / "ts-consumer"
TSC = CONSUMER_DIR / "node_modules" / ".bin" / "tsc"
# The README's Vite recipe compiles against the example app's Vite (installed by `make pytest`).
EXAMPLE_MODULES = ROOT / "examples" / "react-vite" / "node_modules"
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


@pytest.fixture(scope="module")
def consumer(tarball: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ts-consumer/ with the tarball installed: the project's folder."""
    path, _ = tarball
    project = tmp_path_factory.mktemp("consumer") / "app"
    project.mkdir()
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        shutil.copy(CONSUMER_DIR / name, project / name)
    shutil.copytree(CONSUMER_DIR / "src", project / "src")
    npm_install = ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"]
    run(*npm_install, path, cwd=project)
    return project


def test_a_typescript_react_project_installs_the_tarball_and_type_checks_strictly(consumer: Path) -> None:
    project = consumer
    installed = project / "node_modules" / "tasksync"
    assert (installed / "types" / "tasksync.d.ts").exists()

    run(project / "node_modules" / ".bin" / "tsc", "-p", project, "--noEmit", "--strict", cwd=project)

    # The entry points resolve and load (the client touches no browser API until used).
    loaded = run(
        "node",
        "--input-type=module",
        "-e",
        "const m = await import('tasksync'); const r = await import('tasksync/react');"
        "console.log([typeof m.TasksyncClient, typeof m.LiveStore, typeof r.useLiveTasks,"
        " typeof r.TasksyncProvider].join(' '))",
        cwd=project,
    )
    assert loaded.split() == ["function"] * 4


SNIPPET = re.compile(r"^```(ts|tsx)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# A snippet whose first line is `// src/main.tsx` (or `// vite.config.ts: …`) is that file.
NAMED = re.compile(r"^// ((?:src/)?[\w./-]+\.tsx?)\b")


def readme_snippets(readme: str) -> dict[str, str]:
    """The README's ts/tsx snippets by file name: as named on their first line, or numbered."""
    snippets: dict[str, str] = {}
    for number, match in enumerate(SNIPPET.finditer(readme), 1):
        kind, text = match.groups()
        named = NAMED.match(text)
        name = named.group(1) if named else f"snippets/snippet{number}.{kind}"
        assert name not in snippets, f"two snippets are {name}"
        snippets[name] = text
    return snippets


def tsconfig(folder: Path, name: str, files: list[str], **options: object) -> Path:
    """A strict tsconfig in `folder` compiling `files`, `options` over the consumer's."""
    base = json.loads((CONSUMER_DIR / "tsconfig.json").read_text())["compilerOptions"]
    config = {"compilerOptions": {**base, "moduleDetection": "force", **options}, "files": files}
    (folder / name).write_text(json.dumps(config))
    return folder / name


def test_every_typescript_snippet_in_the_readme_compiles_as_written(consumer: Path) -> None:
    snippets = readme_snippets((CLIENT_DIR / "README.md").read_text())
    # The React path, the service worker, the Vite recipe and the plain store, at least.
    assert {"src/main.tsx", "src/Tasks.tsx", "src/sw.ts", "vite.config.ts"} <= set(snippets)
    assert len(snippets) >= 6, sorted(snippets)
    folder = consumer / "readme"
    for name, text in snippets.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    worker = [name for name, text in snippets.items() if '"tasksync/sw"' in text]
    vite = [name for name, text in snippets.items() if 'from "vite"' in text]
    page = [name for name in snippets if name not in worker + vite]
    tsc = consumer / "node_modules" / ".bin" / "tsc"
    run(tsc, "-p", tsconfig(folder, "tsconfig.json", page), cwd=folder)
    # A service worker has its own globals: the webworker lib, no DOM.
    run(tsc, "-p", tsconfig(folder, "tsconfig.sw.json", worker, lib=["es2022", "webworker"]), cwd=folder)

    if not (EXAMPLE_MODULES / "vite").exists():
        skip_or_fail("the example app's Vite is not installed: make examples/react-vite/dist/index.html")
    for package in ("vite", "@vitejs"):
        (consumer / "node_modules" / package).symlink_to(EXAMPLE_MODULES / package)
    # Vite's own declarations are Vite's business: the recipe is what is checked.
    vite_config = tsconfig(folder, "tsconfig.vite.json", vite, lib=["es2022"], skipLibCheck=True)
    run(tsc, "-p", vite_config, cwd=folder)


def test_a_snippet_that_no_longer_type_checks_fails(consumer: Path) -> None:
    # The check above is not vacuous: the README's own list hook, misused as the old
    # count it was, does not compile.
    folder = consumer / "broken"
    folder.mkdir()
    tasks = readme_snippets((CLIENT_DIR / "README.md").read_text())["src/Tasks.tsx"]
    broken = tasks.replace("{pending.length} changes waiting", "{pending > 0 && pending} changes waiting")
    assert broken != tasks
    (folder / "Tasks.tsx").write_text(broken)
    done = subprocess.run(
        [consumer / "node_modules" / ".bin" / "tsc", "-p", tsconfig(folder, "tsconfig.json", ["Tasks.tsx"])],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode != 0 and "Tasks.tsx(" in done.stdout, done.stdout

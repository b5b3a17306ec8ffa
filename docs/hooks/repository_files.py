"""MkDocs hook: the repository files the documentation links to become part of the site.

The pages in docs/ link to files outside it (`../bench/README.md`, `../clients/js/README.md`)
with relative paths, so the same Markdown reads right on GitHub and in a checkout. MkDocs
only builds docs/, and with `strict: true` such a link fails the build, so this hook:

* finds every repository file a page links to, following links from the linked Markdown
  files in turn, and adds each to the site under `repository/<its path>` (Markdown as a
  page, anything else copied as it is);
* rewrites each page's relative links to where the target sits in the site (MkDocs'
  warnings then name the rewritten link: `repository/bench/README.md#…` for
  `../bench/README.md#…`).

A link to a file that does not exist is left alone, so MkDocs still reports it and the
strict build fails: nothing is silenced, the links only resolve where they point.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MOUNT = "repository"

# An inline link or image, `[text](target "title")`: group 2 is the target.
LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|/|#)", re.I)


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _docs(config: MkDocsConfig) -> Path:
    return Path(config.docs_dir).resolve()


def _targets(source: Path, markdown: str) -> Iterator[tuple[re.Match[str], Path]]:
    """Each relative link outside code blocks, with the file it names on disk."""
    fences = [m.span() for m in FENCE.finditer(markdown)]
    for m in LINK.finditer(markdown):
        target = m.group(2)
        if EXTERNAL.match(target) or any(a <= m.start() < b for a, b in fences):
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path:
            yield m, (source.parent / path).resolve()


def _site_uri(target: Path, config: MkDocsConfig) -> str | None:
    """Where a file of the repository is in the site, or None if it is not in the repository."""
    if target.is_relative_to(_docs(config)):
        return target.relative_to(_docs(config)).as_posix()
    if target.is_relative_to(_root(config)):
        return f"{MOUNT}/{target.relative_to(_root(config)).as_posix()}"
    return None


def on_files(files: Files, config: MkDocsConfig) -> Files:
    pending = [Path(f.abs_src_path) for f in files.documentation_pages() if f.abs_src_path]
    seen = set(pending)
    while pending:
        source = pending.pop()
        for _, target in _targets(source, source.read_text(encoding="utf-8")):
            uri = _site_uri(target, config)
            if target in seen or not target.is_file() or uri is None or not uri.startswith(MOUNT):
                continue
            seen.add(target)
            files.append(File.generated(config, uri, abs_src_path=str(target)))
            # `mkdocs serve` watches docs/ and mkdocs.yml; an edit to these rebuilds too.
            config.watch.append(str(target))
            if target.suffix == ".md":
                pending.append(target)
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    source = Path(page.file.abs_src_path or "")
    here = posixpath.dirname(page.file.src_uri)
    edits: list[tuple[int, int, str]] = []
    for m, target in _targets(source, markdown):
        uri = _site_uri(target, config)
        if uri is None or files.get_file_from_path(uri) is None:
            continue  # MkDocs reports it as not found
        rest = m.group(2)[len(m.group(2).split("#", 1)[0].split("?", 1)[0]) :]
        edits.append((m.start(2), m.end(2), posixpath.relpath(uri, here or ".") + rest))
    for start, end, new in reversed(edits):
        markdown = markdown[:start] + new + markdown[end:]
    return markdown

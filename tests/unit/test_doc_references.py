"""Every reference to a Markdown document resolves inside the repository.

Code comments and docstrings cite documents by path, often with a section (`§3.2`), an anchor (`#10-cleanup`) or a
quoted heading; the Markdown pages cite each other the same way. A reader who cloned SignBridge must be able to
follow each of them, so this test fails, listing every offender, when the file is not in the repository or the
section, anchor or heading is not one of its headings.

Where a path is looked up: in Python, from the repository's root; in Markdown, from the page's folder (as a link
is) or else from the root. Scanned: the comments and docstrings of every tracked Python file, and the whole text of
every tracked Markdown file.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Never scanned: environments, dependencies and build output, when the tree is walked without git.
SKIPPED_FOLDERS = frozenset(
    {".git", ".venv", ".venv-3.13", "node_modules", "cdk.out", "build", "dist", "__pycache__", ".mypy_cache"}
)

_SECTION = r"§\s*\d+(?:\.\d+)*"
# A document path (not inside a URL or a longer path), then optionally an anchor, sections or a quoted heading.
REFERENCE = re.compile(
    r"(?<![\w/.:@-])(?P<path>(?:\.{1,2}/)*(?:[\w-]+/)*[\w.-]*\w\.md)(?![\w-]|\.\w)"
    r"(?:#(?P<anchor>[\w-]+)"
    rf"|`?(?P<sections>\s*{_SECTION}(?:\s*(?:,|and|/)\s*{_SECTION})*)"
    r"|`?,?\s+\"(?P<heading>[^\"\n]+)\")?"
)
SECTION_NUMBER = re.compile(r"§\s*(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?(?:\s|$)")


@dataclass(frozen=True)
class Reference:
    source: str  # repository-relative path of the file holding the reference
    line: int
    text: str
    path: str
    anchor: str | None
    sections: tuple[str, ...]
    heading: str | None


# -- finding references --------------------------------------------------------------------------------------------


def tracked_files(suffix: str) -> list[Path]:
    """The repository's files with this suffix: git's list when the tree is a checkout, else a walk of the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", f"*{suffix}"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return sorted(
            path
            for path in REPO.rglob(f"*{suffix}")
            if not SKIPPED_FOLDERS.intersection(path.relative_to(REPO).parts) and path.is_file()
        )
    return sorted(REPO / name for name in listed.split("\0") if name and (REPO / name).is_file())


def python_prose(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python module."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                for offset, text in enumerate(first.value.value.splitlines()):
                    yield first.lineno + offset, text


def references_in(text_lines: Iterator[tuple[int, str]], source: str) -> Iterator[Reference]:
    for line, text in text_lines:
        for match in REFERENCE.finditer(text):
            sections = tuple(SECTION_NUMBER.findall(match["sections"] or ""))
            yield Reference(source, line, match.group(0), match["path"], match["anchor"], sections, match["heading"])


def all_references() -> Iterator[Reference]:
    for path in tracked_files(".py"):
        name = path.relative_to(REPO).as_posix()
        yield from references_in(python_prose(path.read_text(encoding="utf-8")), name)
    for path in tracked_files(".md"):
        name = path.relative_to(REPO).as_posix()
        yield from references_in(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1), name)


# -- checking them -------------------------------------------------------------------------------------------------


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def plain(heading: str) -> str:
    return re.sub(r"[`*]", "", heading).strip().casefold()


@cache
def headings_of(document: Path) -> tuple[str, ...]:
    """The headings of a Markdown file, outside fenced code blocks."""
    found: list[str] = []
    fenced = False
    for line in document.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append(match.group(2))
    return tuple(found)


def anchors_of(document: Path) -> frozenset[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in headings_of(document):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        anchors.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return frozenset(anchors)


def sections_of(document: Path) -> frozenset[str]:
    return frozenset(match.group(1) for heading in headings_of(document) if (match := NUMBERED.match(heading)))


def resolve(reference: Reference, repo: Path) -> Path | None:
    """The file a reference names, if it is in the repository."""
    bases = [repo]
    if reference.source.endswith(".md"):
        bases.insert(0, (repo / reference.source).parent)
    for base in bases:
        candidate = (base / reference.path).resolve()
        if candidate.is_relative_to(repo.resolve()) and candidate.is_file():
            return candidate
    return None


def problem(reference: Reference, repo: Path) -> str | None:
    """Why the reference cannot be followed, or None when it can."""
    document = resolve(reference, repo)
    if document is None:
        return "no such file in the repository"
    if reference.anchor is not None and reference.anchor.lower() not in anchors_of(document):
        return f"no heading with anchor #{reference.anchor}"
    missing = [number for number in reference.sections if number not in sections_of(document)]
    if missing:
        return "no section " + ", ".join(f"§{number}" for number in missing)
    if reference.heading is not None and not any(
        plain(heading).startswith(plain(reference.heading)) for heading in headings_of(document)
    ):
        return f'no heading "{reference.heading}"'
    return None


# -- tests ---------------------------------------------------------------------------------------------------------


def test_every_document_reference_resolves_inside_the_repository() -> None:
    # Given every reference to a Markdown document in the code's comments and docstrings and in the docs
    references = list(all_references())
    # When each is looked up in the repository
    offenders = [
        f"{reference.source}:{reference.line}: {reference.text.strip()!r}: {reason}"
        for reference in references
        if (reason := problem(reference, REPO)) is not None
    ]
    # Then every file, section, anchor and heading exists
    assert references, "the scan found no reference at all: the scanner is broken"
    assert not offenders, f"{len(offenders)} references cannot be followed:\n" + "\n".join(offenders)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "docs" / "providers").mkdir(parents=True)
    (tmp_path / "docs" / "providers" / "zapsign.md").write_text(
        "# ZapSign\n\n## 3. Endpoints\n\n### 3.2 Detail a document\n\n```\n## 9. not a heading\n```\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "deploy.md").write_text("# Deploy\n\n## 10. Cleanup\n", encoding="utf-8")
    (tmp_path / "docs" / "design.md").write_text("# Design\n\n## Fetch, don't trust\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        ("a.py", "# docs/providers/zapsign.md §3.2", None),
        ("a.py", "# docs/providers/zapsign.md §3, §3.2 and §3.2", None),
        ("a.py", "# see docs/providers/zapsign.md §3.2 item 4", None),
        ("a.py", "# docs/providers/zapsign.md §4.1", "no section §4.1"),
        ("a.py", "# docs/providers/zapsign.md §3.2, §9", "no section §9"),
        ("a.py", "# contracts/zapsign.md §3.2", "no such file in the repository"),
        ("a.py", "# shared/contracts/zapsign.md", "no such file in the repository"),
        ("a.py", "# (design.md, 'Shape')", "no such file in the repository"),
        ("a.py", '# docs/design.md, "Fetch, don\'t trust"', None),
        ("a.py", '# docs/design.md "Fetch"', None),
        ("a.py", '# docs/design.md, "Shape"', 'no heading "Shape"'),
        ("a.py", "# docs/deploy.md#10-cleanup", None),
        ("a.py", "# docs/deploy.md#cleanup", "no heading with anchor #cleanup"),
        ("docs/deploy.md", "[design](design.md#fetch-dont-trust)", None),
        ("docs/deploy.md", "`../shared/design.md`", "no such file in the repository"),
        ("docs/deploy.md", "see `docs/providers/zapsign.md` §3", None),
        ("docs/deploy.md", "see `providers/zapsign.md` §7", "no section §7"),
        ("README.md", "[deploy](docs/deploy.md#10-cleanup)", None),
    ],
)
def test_a_reference_is_checked_against_the_files_and_their_headings(
    repo: Path, source: str, text: str, expected: str | None
) -> None:
    # Given a reference in a file of a small repository
    (reference,) = references_in(iter([(1, text)]), source)
    # When it is checked
    reason = problem(reference, repo)
    # Then it resolves, or the reason names what is missing
    assert reason == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://docs.example.com/guide/page.md",
        "the ruff.md.bak file",
        "a .mdx page",
    ],
)
def test_text_that_only_looks_like_a_reference_is_ignored(text: str) -> None:
    assert list(references_in(iter([(1, text)]), "a.py")) == []


def test_comments_and_docstrings_are_scanned_but_not_other_strings() -> None:
    # Given a module with a reference in a comment, in a docstring and in an ordinary string
    source = '"""Module, see a.md."""\n\nX = "b.md"  # c.md\n\n\ndef f() -> None:\n    """d.md §1"""\n'
    # When its prose is scanned
    found = [(reference.line, reference.path) for reference in references_in(python_prose(source), "m.py")]
    # Then the string literal is not prose
    assert sorted(found) == [(1, "a.md"), (3, "c.md"), (7, "d.md")]

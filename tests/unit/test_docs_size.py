"""Guards against absurd documentation: a tracked doc that grew huge, or one paragraph repeated over and over.

Both happened once: a text replace with an empty search string turned docs/benchmarks.md into 5 MB of one paragraph.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
# The recorded bench result is rewritten by every `make bench` and committed with docs/benchmarks.md.
RECORDED_RESULTS = ("bench/results/latest.json",)
MAX_DOC_BYTES = 200 * 1024
MAX_RECORDED_RESULT_BYTES = 64 * 1024
# A paragraph (text between blank lines) of at least this many characters may appear at most twice in one doc.
MIN_REPEATED_PARAGRAPH_CHARS = 80
MAX_PARAGRAPH_REPEATS = 2
# When the tree is not a git checkout (an unpacked archive), every file outside these folders counts as tracked.
UNTRACKED_DIRS = frozenset(
    {".git", ".venv", ".venv-3.13", "node_modules", "cdk.out", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)


def tracked_files(root: Path = REPO_ROOT) -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [
            path
            for path in root.rglob("*")
            if path.is_file() and not UNTRACKED_DIRS.intersection(path.relative_to(root).parts)
        ]
    return [root / name for name in listed.split("\0") if name and (root / name).is_file()]


def tracked_docs(root: Path = REPO_ROOT) -> list[Path]:
    return [path for path in tracked_files(root) if path.suffix.lower() in DOC_SUFFIXES]


def oversized(paths: list[Path], limit: int, root: Path = REPO_ROOT) -> list[str]:
    return sorted(
        f"{path.relative_to(root)} ({path.stat().st_size:,} bytes)" for path in paths if path.stat().st_size > limit
    )


def repeated_paragraphs(text: str) -> dict[str, int]:
    """Paragraphs of MIN_REPEATED_PARAGRAPH_CHARS or more that occur more than MAX_PARAGRAPH_REPEATS times, with
    their count (keyed by their first 60 characters)."""
    paragraphs = [block.strip() for block in re.split(r"\n\s*\n", text)]
    counts = Counter(block for block in paragraphs if len(block) >= MIN_REPEATED_PARAGRAPH_CHARS)
    return {block[:60]: count for block, count in counts.items() if count > MAX_PARAGRAPH_REPEATS}


def test_the_repository_has_docs_to_check() -> None:
    # Given the repository  When its tracked docs are listed  Then the README and docs/ are among them
    names = {path.relative_to(REPO_ROOT).as_posix() for path in tracked_docs()}
    assert "README.md" in names
    assert any(name.startswith("docs/") for name in names)


def test_no_tracked_doc_is_absurdly_large() -> None:
    # Given every tracked Markdown / text doc
    # When their sizes are compared with the limit
    # Then none is over it (the message lists every offender)
    offenders = oversized(tracked_docs(), MAX_DOC_BYTES)
    assert not offenders, f"docs over {MAX_DOC_BYTES // 1024} KB: {offenders}"


def test_the_recorded_bench_result_is_small() -> None:
    # Given the recorded result that docs/benchmarks.md is rendered from
    # When its size is checked  Then it stays a few KB
    paths = [REPO_ROOT / name for name in RECORDED_RESULTS if (REPO_ROOT / name).exists()]
    offenders = oversized(paths, MAX_RECORDED_RESULT_BYTES)
    assert not offenders, f"recorded results over {MAX_RECORDED_RESULT_BYTES // 1024} KB: {offenders}"


def test_no_tracked_doc_repeats_a_paragraph_over_and_over() -> None:
    # Given every tracked doc  When its paragraphs are counted  Then no long paragraph occurs more than twice
    offenders = {
        path.relative_to(REPO_ROOT).as_posix(): repeats
        for path in tracked_docs()
        if (repeats := repeated_paragraphs(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert not offenders, f"paragraphs repeated more than {MAX_PARAGRAPH_REPEATS} times: {offenders}"


def test_the_guards_catch_what_they_are_for(tmp_path: Path) -> None:
    # Given a doc over the size limit and a doc made of one paragraph repeated
    paragraph = "One paragraph, long enough to count, that a careless replace copied all over the page again."
    huge = tmp_path / "huge.md"
    huge.write_text("x" * (MAX_DOC_BYTES + 1), encoding="utf-8")
    small = tmp_path / "small.md"
    small.write_text("fine\n", encoding="utf-8")
    # When the guards look at them
    # Then the large one is named with its size, and the repeated paragraph is counted
    assert oversized([huge, small], MAX_DOC_BYTES, root=tmp_path) == [f"huge.md ({MAX_DOC_BYTES + 1:,} bytes)"]
    assert repeated_paragraphs("\n\n".join([paragraph] * 3)) == {paragraph[:60]: 3}
    assert repeated_paragraphs("\n\n".join([paragraph] * 2)) == {}

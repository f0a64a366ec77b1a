"""Progress display for the evaluations: tqdm when it is installed, else a plain line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """Wraps a sequence; yields its items while showing how far it got."""

    def __call__(self, items: Sequence[T], label: str) -> Iterator[T]: ...


def quiet(items: Sequence[T], label: str) -> Iterator[T]:
    """No display."""
    yield from items


def bar(items: Sequence[T], label: str) -> Iterator[T]:
    """A progress bar on stderr."""
    try:
        from tqdm import tqdm  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        yield from _plain(items, label)
        return
    yield from tqdm(items, desc=label, total=len(items), file=sys.stderr, leave=False)


def _plain(items: Sequence[T], label: str, width: int = 30) -> Iterator[T]:
    total = len(items)
    for done, item in enumerate(items):
        _draw(label, done, total, width)
        yield item
    _draw(label, total, total, width)
    sys.stderr.write("\n")
    sys.stderr.flush()


def _draw(label: str, done: int, total: int, width: int) -> None:
    filled = round(width * done / total) if total else width
    sys.stderr.write(f"\r{label}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()

"""Progress bars on stderr for long work: samples done, rate and time left.

Shown only when stderr is a terminal and the output is for people (not
`--json`): piped or machine-read runs stay quiet.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

Update = Callable[[int, int], None]


def bars_wanted(json_output: bool, stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return not json_output and stream.isatty()


def terminal_bar(iterable: Any = None, **options: Any) -> "tqdm[Any]":
    """A tqdm bar on stderr that draws only on a terminal: piped logs get no carriage returns."""
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, disable=not bars_wanted(False), **options)


@contextmanager
def sample_bar(label: str, enabled: bool, total: int | None = None) -> Iterator[Update]:
    """Yields `update(done, total)`; draws a tqdm bar (count, rate, time left) only when `enabled`."""
    if not enabled:
        yield lambda done, total: None
        return
    from tqdm import tqdm

    with tqdm(desc=label, total=total, unit="sample", unit_scale=True, file=sys.stderr,
              leave=True) as bar:

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        yield update

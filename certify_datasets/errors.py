"""One error for every data set problem: a single line that names the file."""


class DatasetError(Exception):
    """A data set, or one of its files, that cannot be evaluated.

    `source` is the file (or `file[index]` inside an archive-like file) at
    fault; `bad_item` is True when only that item is bad, so that a run with
    `--skip-bad` may count it and go on.
    """

    def __init__(self, source: str, reason: str, *, bad_item: bool = False) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.bad_item = bad_item

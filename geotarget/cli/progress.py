"""A progress bar on the terminal (tqdm), shown only when standard error is one."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """Counts finished items; draws a tqdm bar on stderr when it is a terminal.  Call it with
    the number just finished; :meth:`close` ends the bar."""

    def __init__(self, total: int, what: str = "venues") -> None:
        self.total, self.done = total, 0
        self._bar: Any = None
        if sys.stderr.isatty() and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit=f" {what}",
                unit_scale=False,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
                leave=True,
            )

    def __call__(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            if self.done >= self.total:
                self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

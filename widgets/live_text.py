"""A line of text that changes often (a clock, a badge, the counts strip) without making the
screen lay itself out again each time: `Static.update` lays out the whole screen, tens of
milliseconds on a big board, which only a change of width needs."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


class LiveText(Static):
    """`show()` redraws only when the text differs, and lays out only when its width does."""

    def __init__(self, text: str | Text = "", *, id: str | None = None) -> None:
        super().__init__(text, id=id)
        self._shown: str | Text = text

    def show(self, text: str | Text) -> None:
        if text == self._shown:
            return
        before, self._shown = self._shown, text
        self.update(text, layout=_width(text) != _width(before))


def _width(text: str | Text) -> int:
    return text.cell_len if isinstance(text, Text) else cell_len(text)

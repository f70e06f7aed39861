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
        # Only a widget as wide as its text moves its neighbours when the text grows: the
        # board's strip (the whole width, one line) never needs the screen laid out again,
        # and at peak load its counts change width every few seconds (40-60 ms a layout).
        width, height = self.styles.width, self.styles.height
        grows = _width(text) != _width(before)
        wide = width is not None and width.is_auto  # as wide as its text
        wraps = (height is None or height.is_auto) and (
            max(_width(text), _width(before)) > self.content_region.width
        )  # as tall as its text, which is longer than a line
        self.update(text, layout=grows and (wide or wraps))


def _width(text: str | Text) -> int:
    return text.cell_len if isinstance(text, Text) else cell_len(text)

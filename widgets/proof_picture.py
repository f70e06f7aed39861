"""A photo or signature drawn with text: two pixels a cell, the upper half block's foreground
over its background. Works in any terminal with colour (Rich brings 24-bit colour down to 256
or 16 where that is all there is), over SSH and in tmux, without a graphics protocol."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def half_blocks(content: bytes, width: int) -> Text:
    """The image scaled to `width` cells across (keeping its shape), as styled text; a line
    saying so if it cannot be read."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return Text("(the image could not be read)", style="italic")
    cells = max(1, min(width, rgb.width))
    rows = max(1, round(rgb.height * cells / rgb.width / 2))
    small = rgb.resize((cells, rows * 2))
    pixels = small.load()
    assert pixels is not None
    text = Text()
    for row in range(rows):
        for column in range(cells):
            top = pixels[column, 2 * row]
            bottom = pixels[column, 2 * row + 1]
            assert isinstance(top, tuple) and isinstance(bottom, tuple)
            style = Style(color=f"rgb{top[:3]}", bgcolor=f"rgb{bottom[:3]}")
            text.append(UPPER_HALF, style=style)
        if row < rows - 1:
            text.append("\n")
    return text

"""An animated GIF written frame by frame, so memory stays flat however long the session is.

Pillow's and imageio's GIF writers keep every frame until the file is closed (about 1 MB per
rendered 512x400 frame: 882 MB for a 743-frame session). :class:`GifStream` instead writes each
frame to the file as it arrives:

- one global 256-colour palette, chosen once from a few sample frames (Pillow's median-cut
  quantizer) and used for every frame (no dithering), so the file needs no per-frame palette;
- each frame is mapped to that palette and only the rectangle that changed since the previous
  frame is written (the colour bar and frame of a replay never change);
- the LZW image data is encoded by Pillow (``PIL.GifImagePlugin.getdata``, its documented
  frame-encoding helper); the header, the NETSCAPE2.0 loop block and the trailer are written here
  (GIF89a specification, https://www.w3.org/Graphics/GIF/spec-gif89a.txt, sections 17-27).

Frame delays are stored in 1/100 s (the format's unit), rounded.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

#: largest frame delay a GIF can hold: a 16-bit count of 1/100 s (GIF89a section 23)
MAX_DELAY_CS = 65535


def fixed_palette(samples: list[np.ndarray], colours: int = 256):
    """A Pillow "P" image carrying the palette for ``samples`` (uint8 (H, W, 3) frames, stacked and
    quantized by median cut). Frames with colours not in the samples map to the nearest entry."""
    from PIL import Image

    stack = np.concatenate([np.asarray(s, dtype=np.uint8) for s in samples], axis=0)
    return Image.fromarray(stack, "RGB").quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


class GifStream:
    """Write an animated GIF to ``path`` one frame at a time (use as a context manager).

    ``palette``: a "P" image from :func:`fixed_palette`; ``duration_ms``: delay per frame;
    ``loop``: 0 = forever. :meth:`append` takes uint8 (H, W, 3) RGB frames, all of one size.
    Each frame is written when the next one arrives (an unchanged frame only lengthens the delay
    of the one before), so memory holds two frames; the file is complete after :meth:`close`.
    """

    def __init__(self, path: str | Path, palette, duration_ms: float, loop: int = 0):
        self.path = Path(path)
        self.palette = palette
        self.delay_cs = min(MAX_DELAY_CS, max(1, int(round(duration_ms / 10.0))))
        self.loop = loop
        self.n = 0
        self._prev: np.ndarray | None = None
        self._pending = None  # (index array, box) of the last frame, written when the next one is known
        self._pending_delay = 0
        self._f = open(self.path, "wb")

    def _header(self, w: int, h: int) -> bytes:
        pal = bytes(self.palette.getpalette()[: 256 * 3])
        pal = pal + bytes(256 * 3 - len(pal))
        # logical screen descriptor: global colour table present (0x80), 8 bits colour resolution
        # (0x70), table size 2^(7+1) = 256 entries (0x07); background index 0; no aspect ratio
        head = b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + pal
        netscape = b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", self.loop) + b"\x00"
        return head + netscape

    def append(self, rgb: np.ndarray) -> None:
        """Map ``rgb`` (uint8 (H, W, 3)) to the palette and write the part that changed."""
        from PIL import Image

        rgb = np.asarray(rgb, dtype=np.uint8)
        idx = np.asarray(Image.fromarray(rgb, "RGB").quantize(palette=self.palette, dither=Image.Dither.NONE))
        if self._prev is None:
            self._f.write(self._header(idx.shape[1], idx.shape[0]))
            box = (0, 0, idx.shape[1], idx.shape[0])
        else:
            if idx.shape != self._prev.shape:
                raise ValueError(f"frame size {idx.shape} differs from the first frame's {self._prev.shape}")
            diff = idx != self._prev
            if not diff.any():
                if self._pending_delay + self.delay_cs <= MAX_DELAY_CS:  # identical: lengthen the delay
                    self._pending_delay += self.delay_cs
                    self.n += 1
                    return
                box = (0, 0, 1, 1)  # the 16-bit delay is full: redraw one unchanged pixel instead
            else:
                rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
                box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        self._flush_pending()
        self._pending, self._pending_delay = (idx, box), self.delay_cs
        self._prev = idx
        self.n += 1

    def _flush_pending(self) -> None:
        from PIL import GifImagePlugin, Image

        if self._pending is None:
            return
        idx, (x0, y0, x1, y1) = self._pending
        im = Image.fromarray(np.ascontiguousarray(idx[y0:y1, x0:x1]), "P")
        # getdata writes the graphic control extension (delay in ms -> 1/100 s) and the image data
        for chunk in GifImagePlugin.getdata(im, offset=(x0, y0), duration=self._pending_delay * 10):
            self._f.write(chunk)
        self._pending = None

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._flush_pending()
            if self._prev is not None:
                self._f.write(b";")  # trailer
        finally:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

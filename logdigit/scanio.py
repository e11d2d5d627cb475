"""Read raster well-log scans into a 2-D ``uint8`` array.

Every reader here is a pure function: it opens the file, returns a :class:`Scan` and
closes the file again. Any problem with the file (missing, a folder, unreadable, empty,
not an image, truncated or corrupt data, page out of range, too large, too small) is
raised as :class:`~logdigit.errors.ScanError` with one line naming the file and the
problem; Pillow's own exceptions never escape.

Pixel convention
----------------
``Scan.pixels`` has shape ``(rows, cols)`` and dtype ``uint8``: 0 is black ink, 255 is
white paper, and depth increases *down the rows*. Stored images are converted as follows
(see :func:`to_gray`):

* ``"1"`` (bilevel, e.g. CCITT Group 4 TIFF): black -> 0, white -> 255.
* ``"L"``: unchanged.
* ``"RGB"``, ``"RGBX"``: ITU-R 601-2 luma, ``L = 0.299 R + 0.587 G + 0.114 B``.
* ``"CMYK"``, ``"YCbCr"``, ``"HSV"``, ``"LAB"``: converted to RGB, then luma.
* ``"P"`` (palette): converted to RGB, then luma; a palette with a transparent entry
  is treated like the alpha modes below.
* ``"LA"``, ``"La"``, ``"PA"``, ``"RGBA"``, ``"RGBa"``: luma composited over white paper,
  ``gray = 255 - (255 - L) * alpha / 255``, so fully transparent pixels are white.
* 16-bit and 32-bit integer (``"I;16"``, ``"I;16B"``, ``"I;16L"``, ``"I"``): when every
  value lies in 0..65535, values are scaled by the nominal full range of the smallest
  bit depth (8 to 16 bits) that holds the largest value, ``round(v * 255 / (2**bits - 1))``.
  So a true 16-bit scan (max > 32767) is scaled by 65535, 12-bit data stored in 16 bits
  (max <= 4095) by 4095, and 8-bit data stored in 16 bits (max <= 255) pass unchanged.
  Scaling by a nominal range rather than stretching min..max keeps a blank, slightly
  noisy page light instead of amplifying the noise into ink. Values outside 0..65535
  (only possible in mode ``"I"``) are stretched linearly from their min..max to 0..255.
* 32-bit float ``"F"``: values in 0..1 are multiplied by 255, values in 0..255 are used
  as they are, anything else is stretched from its finite min..max to 0..255; NaN becomes
  white paper.

The conversion runs over tiles of at most a few million pixels, so apart from Pillow's
own decoded image the only large allocation is the output array itself: a
12,800 x 100,000 px 1-bit scan needs the decoded image (1 byte per pixel inside Pillow)
plus the 1.28 GB result, never a float64 copy.

Orientation
-----------
``orientation="depth-down"`` (the default) returns the stored image as it is.

``orientation="depth-right"`` is for strip images whose depth axis runs along the
*columns* of the stored image. The stored array is transposed (and made contiguous) so
that depth runs down the rows like every other scan, and ``Scan.transposed`` is True.
Then::

    working row r    == stored column r
    working column c == stored row c
    pixels[r, c]     == stored[c, r]

so in a layout written against such a scan, the ``*_row`` keys (depth positions) are
*stored column* indices and the ``*_px`` keys (positions across the tracks) are *stored
row* indices. ``Scan.dpi`` always describes the stored image, ``(x, y)`` as in the file.

Large images and decompression bombs
------------------------------------
The image size is read from the header and checked against ``max_pixels`` (default
:data:`DEFAULT_MAX_PIXELS`, 2e9 px, enough for a 12,800 x 100,000 px scan) *before* any
pixel data are decoded. That check replaces Pillow's process-wide one, whose default
limit (about 89 million pixels, a hard error above about 179 million) would reject
ordinary full-length log scans. While this module opens, seeks and decodes a file it sets
``PIL.Image.MAX_IMAGE_PIXELS`` to None in a ``try``/``finally`` block and restores the
previous value afterwards (unless something else changed it meanwhile), so the global
setting is never changed permanently. The module holds no lock: when another thread
relies on Pillow's limit at the same moment, that thread sees the check switched off for
the duration of the read. ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is never touched, so
truncated files are reported as errors instead of being padded silently.
"""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ScanError

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS: int = 2_000_000_000
"""Largest image, in pixels (width x height of the page read), :func:`read_scan` accepts."""

SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
"""File name suffixes (lower case) of the scan formats, for finding scans in a folder.

:func:`read_scan` identifies the format from the file content, not from the suffix.
"""

ORIENTATIONS = ("depth-down", "depth-right")
"""Accepted values of the ``orientation`` argument of :func:`read_scan`."""

_MIN_SIDE = 2  # smallest width and height, in px, accepted as a scan
_TILE_PIXELS = 1 << 22  # pixels converted at a time by to_gray
_ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
_COLOUR_VIA_RGB = frozenset({"CMYK", "YCbCr", "HSV", "LAB"})

PathArg = str | PathLike[str]
_TileConverter = Callable[[Image.Image], np.ndarray]


@dataclass(frozen=True, eq=False)
class Scan:
    """A scan page as a gray image with depth running down the rows.

    Attributes
    ----------
    pixels : numpy.ndarray, shape (rows, cols), dtype uint8
        Gray levels, 0 = black ink, 255 = white paper. Depth increases with the row
        index. C-contiguous and writable; owned by this object.
    source : pathlib.Path
        The file that was read.
    page : int
        0-based index of the page (TIFF directory) that was read.
    n_pages : int
        Number of pages in the file (1 for PNG and JPEG).
    transposed : bool
        True when the stored image had depth running along its columns
        (``orientation="depth-right"``) and ``pixels`` is its transpose: then
        ``pixels[r, c] == stored[c, r]``.
    dpi : tuple of float or None
        ``(x, y)`` resolution in pixels per inch of the *stored* image, when the file
        records one (TIFF resolution tags, PNG pHYs, JPEG JFIF density); otherwise None.
    rgb : numpy.ndarray, shape (rows, cols, 3), dtype uint8, or None
        The page in colour, aligned with ``pixels``; only when asked for
        (``read_scan(colour=True)``) and the page is in colour (palette, RGB, CMYK, ...).

    Notes
    -----
    Instances compare by identity (``eq=False``): comparing pixel arrays element-wise
    is left to the caller.
    """

    pixels: np.ndarray
    source: Path
    page: int
    n_pages: int
    transposed: bool
    dpi: tuple[float, float] | None
    rgb: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2 or self.pixels.dtype != np.uint8:
            raise ValueError(
                f"Scan.pixels must be a 2-D uint8 array, got {self.pixels.ndim}-D "
                f"{self.pixels.dtype}"
            )
        if self.rgb is not None and (self.rgb.shape != (*self.pixels.shape, 3)
                                     or self.rgb.dtype != np.uint8):
            raise ValueError(f"Scan.rgb must be (rows, cols, 3) uint8 like pixels, got "
                             f"{self.rgb.shape} {self.rgb.dtype}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of :attr:`pixels`, in px."""
        rows, cols = self.pixels.shape
        return int(rows), int(cols)


def image_info(path: PathArg, *, page: int = 0) -> tuple[int, int, int]:
    """Return the size and page count of a stored image, reading only its header.

    No pixel data are decoded, so this is fast and safe even for files whose header
    declares an enormous image.

    Parameters
    ----------
    path : str or os.PathLike
        Image file (TIFF, PNG, JPEG or any other format Pillow reads).
    page : int, default 0
        0-based page (TIFF directory) whose size is returned.

    Returns
    -------
    width : int
        Width of the stored page, in px (number of stored columns).
    height : int
        Height of the stored page, in px (number of stored rows).
    n_pages : int
        Number of pages in the file.

    Raises
    ------
    ScanError
        The file is missing, a folder, unreadable, empty, not an image, has a corrupt
        header, or has no page ``page``.
    ValueError
        ``page`` is negative.
    """
    page = _check_page_arg(page)
    path = _check_path(path)
    with _open_binary(path) as fp, _pillow_limit_suspended(), _open_image(fp, path) as img:
        n_pages = _seek_page(img, path, page)
        width, height = img.size
    return int(width), int(height), n_pages


def read_scan(
    path: PathArg,
    *,
    page: int = 0,
    orientation: str = "depth-down",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    colour: bool = False,
) -> Scan:
    """Read one page of a scanned well log as a gray ``uint8`` image.

    Parameters
    ----------
    path : str or os.PathLike
        Image file: TIFF (any compression Pillow supports, including 1-bit CCITT
        Group 4; multi-page), PNG or JPEG. The format is taken from the content.
    page : int, default 0
        0-based page (TIFF directory) to read.
    orientation : {"depth-down", "depth-right"}, default "depth-down"
        Direction of increasing depth in the stored image. ``"depth-right"`` transposes
        the stored image so that depth runs down the rows of the result; see the module
        docstring for how layout keys map to stored indices in that case.
    max_pixels : int, default DEFAULT_MAX_PIXELS
        Largest accepted width x height of the page, in px, checked from the header
        before decoding.
    colour : bool, default False
        Also keep the page in colour (:attr:`Scan.rgb`, 3 bytes per pixel) when it is a
        colour page; for curves keyed by colour (:mod:`logdigit.colour`).

    Returns
    -------
    Scan
        ``pixels`` of shape ``(rows, cols)``: ``(height, width)`` of the stored page, or
        ``(width, height)`` when ``orientation="depth-right"``.

    Raises
    ------
    ScanError
        The file is missing, a folder, unreadable, empty, not an image, truncated or
        corrupt; has no page ``page``; the page is larger than ``max_pixels`` or smaller
        than 2 x 2 px; or there is not enough memory to decode it.
    ValueError
        ``orientation`` is not one of :data:`ORIENTATIONS`, ``page`` is negative or
        ``max_pixels`` is not positive.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(
            f"orientation must be one of {', '.join(map(repr, ORIENTATIONS))}, got {orientation!r}"
        )
    page = _check_page_arg(page)
    max_pixels = operator.index(max_pixels)
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    transpose = orientation == "depth-right"
    path = _check_path(path)

    with _open_binary(path) as fp:
        with _pillow_limit_suspended():
            img = _open_image(fp, path)
            try:
                n_pages = _seek_page(img, path, page)
                width, height = img.size
                _check_size(path, width, height, max_pixels)
                logger.debug(
                    "%s: mode %s, %d x %d px, page %d of %d, compression %s",
                    path,
                    img.mode,
                    width,
                    height,
                    page + 1,
                    n_pages,
                    img.info.get("compression", "n/a"),
                )
                _decode(img, path, width, height)
            except BaseException:
                img.close()
                raise
        with img:
            pixels = _to_gray_checked(img, path, transpose=transpose)
            rgb = _rgb_checked(img, path, transpose=transpose) if colour else None
            dpi = _dpi(img.info)

    logger.debug(
        "%s: read as %d x %d (rows x cols) uint8%s, dpi %s",
        path,
        pixels.shape[0],
        pixels.shape[1],
        ", transposed" if transpose else "",
        dpi,
    )
    return Scan(
        pixels=pixels, source=path, page=page, n_pages=n_pages, transposed=transpose, dpi=dpi,
        rgb=rgb,
    )


def to_gray(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any supported mode to gray levels.

    Parameters
    ----------
    img : PIL.Image.Image
        Image of size ``(width, height)`` in px; decoded here if it is not yet loaded.

    Returns
    -------
    numpy.ndarray, shape (height, width), dtype uint8
        0 = black, 255 = white; a new, C-contiguous, writable array. See the module
        docstring for the conversion of each mode.

    Raises
    ------
    ScanError
        The mode is not supported (the message names the mode, not a file).
    """
    return _gray_into(img, transpose=False)


# --------------------------------------------------------------------------- helpers


def _check_page_arg(page: int) -> int:
    page = operator.index(page)
    if page < 0:
        raise ValueError(f"page must be 0 or more, got {page}")
    return page


def _check_path(path: PathArg) -> Path:
    """Return ``path`` as a Path if it names a non-empty regular file."""
    path = Path(path)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ScanError(f"{path}: does not exist") from None
    except PermissionError:
        raise ScanError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ScanError(f"{path}: cannot be read ({_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScanError(f"{path}: is a folder, expected an image file")
    if not stat.S_ISREG(st.st_mode):
        raise ScanError(f"{path}: is not a regular file")
    if st.st_size == 0:
        raise ScanError(f"{path}: is empty (0 bytes)")
    return path


@contextlib.contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    try:
        fp = open(path, "rb")
    except PermissionError:
        raise ScanError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ScanError(f"{path}: cannot be opened ({_reason(exc)})") from None
    with fp:
        yield fp


@contextlib.contextmanager
def _pillow_limit_suspended() -> Iterator[None]:
    """Switch Pillow's global decompression-bomb check off for the ``with`` body.

    Callers check the header size against their own ``max_pixels`` instead. The previous
    value is restored on exit unless something else set a value meanwhile; so an
    overlapping call in another thread, which saved our None as its "previous" value,
    cannot leave the check switched off for good.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        if Image.MAX_IMAGE_PIXELS is None:
            Image.MAX_IMAGE_PIXELS = saved


def _open_image(fp: BinaryIO, path: Path) -> Image.Image:
    """Identify the image and parse its header (no pixel data are decoded)."""
    try:
        return Image.open(fp)
    except UnidentifiedImageError:
        kind = _sniff(fp)
        if kind:
            raise ScanError(
                f"{path}: starts like a {kind} file but cannot be opened "
                "(header truncated or corrupt)"
            ) from None
        raise ScanError(
            f"{path}: is not an image file Pillow can read (unknown or unsupported format)"
        ) from None
    except Image.DecompressionBombError:
        raise ScanError(_bomb_race_message(path)) from None
    except MemoryError:
        raise ScanError(f"{path}: not enough memory to read the image header") from None
    except Exception as exc:  # any parser failure means a corrupt header
        raise ScanError(f"{path}: image header is corrupt ({_reason(exc)})") from None


_MAGIC = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"MM\x00+", "BigTIFF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
)


def _sniff(fp: BinaryIO) -> str | None:
    """Name of the format whose signature starts ``fp``, if it is a scan format."""
    try:
        fp.seek(0)
        head = fp.read(8)
    except (OSError, ValueError):
        return None
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _seek_page(img: Image.Image, path: Path, page: int) -> int:
    """Select page ``page`` of ``img``; return the number of pages in the file."""
    try:
        n_pages = int(getattr(img, "n_frames", 1))
    except Exception as exc:  # a corrupt directory chain
        raise ScanError(f"{path}: cannot count the pages ({_reason(exc)})") from None
    if page >= n_pages:
        raise ScanError(
            f"{path}: page {page} requested, the file has {n_pages} "
            f"page{'' if n_pages == 1 else 's'}"
        )
    if page != img.tell():
        try:
            img.seek(page)
        except Exception as exc:
            raise ScanError(f"{path}: cannot read page {page} ({_reason(exc)})") from None
    return n_pages


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    n = width * height
    if n > max_pixels:
        raise ScanError(
            f"{path}: image is {width} x {height} px = {n} pixels, "
            f"above the limit of {max_pixels} pixels"
        )
    if width < _MIN_SIDE or height < _MIN_SIDE:
        raise ScanError(
            f"{path}: image is {width} x {height} px, too small for a scan "
            f"(at least {_MIN_SIDE} x {_MIN_SIDE} px needed)"
        )


def _decode(img: Image.Image, path: Path, width: int, height: int) -> None:
    """Force decoding now so that truncated or corrupt data raise here."""
    try:
        img.load()
    except MemoryError:
        raise ScanError(
            f"{path}: not enough memory to decode the {width} x {height} px image"
        ) from None
    except Image.DecompressionBombError:
        raise ScanError(_bomb_race_message(path)) from None
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, ...
        raise ScanError(f"{path}: image data are truncated or corrupt ({_reason(exc)})") from None


def _to_gray_checked(img: Image.Image, path: Path, *, transpose: bool) -> np.ndarray:
    try:
        return _gray_into(img, transpose=transpose)
    except ScanError as exc:
        raise ScanError(f"{path}: {exc}") from None
    except MemoryError:
        raise ScanError(
            f"{path}: not enough memory to convert the {img.width} x {img.height} px image"
        ) from None
    except Exception as exc:
        raise ScanError(f"{path}: cannot convert the image to gray ({_reason(exc)})") from None


def _rgb_checked(img: Image.Image, path: Path, *, transpose: bool) -> np.ndarray | None:
    """The page as (rows, cols, 3) uint8 when it is in colour, else None."""
    if img.mode not in ("P", "PA", "RGB", "RGBX", "RGBA", "RGBa", *_COLOUR_VIA_RGB):
        return None
    try:
        return _convert_into(img, _rgb_converter(img), transpose=transpose, channels=3)
    except MemoryError:
        raise ScanError(f"{path}: not enough memory to keep the page in colour") from None
    except (OSError, ValueError) as exc:
        raise ScanError(f"{path}: cannot convert the image to colour ({_reason(exc)})"
                        ) from None


def _rgb_converter(img: Image.Image) -> _TileConverter:
    """Tile -> (h, w, 3) uint8 for a colour page (alpha over white paper, 8-bit TIFF maps)."""
    if img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info):
        def over_white(tile: Image.Image) -> np.ndarray:
            rgba = tile.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))

        return over_white
    if img.mode == "P" and (lut := _eight_bit_tiff_palette(img)) is not None:
        return lambda tile: lut[np.asarray(tile)]
    return lambda tile: np.asarray(tile.convert("RGB"))


def _bomb_race_message(path: Path) -> str:
    return (
        f"{path}: Pillow's decompression-bomb check rejected the image "
        "(PIL.Image.MAX_IMAGE_PIXELS was changed while the file was read)"
    )


def _reason(exc: BaseException) -> str:
    """One short line describing ``exc``, for the end of a ScanError message."""
    text = getattr(exc, "strerror", None) or str(exc)
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    if not line:
        line = type(exc).__name__
    return line if len(line) <= 120 else line[:117] + "..."


def _dpi(info: dict) -> tuple[float, float] | None:
    raw = info.get("dpi")
    try:
        x, y = (float(v) for v in raw)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return None
    return (x, y)


# ---------------------------------------------------------------- gray conversion


def _tiles(width: int, height: int) -> Iterator[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` covering the image, each at most ``_tile_pixels()``."""
    limit = _tile_pixels()
    if width <= limit:
        rows = max(1, limit // max(1, width))
        for y0 in range(0, height, rows):
            yield 0, y0, width, min(height, y0 + rows)
    else:
        for y0 in range(height):
            for x0 in range(0, width, limit):
                yield x0, y0, min(width, x0 + limit), y0 + 1


def _tile_pixels() -> int:
    # Image.crop applies Pillow's global bomb check to the crop size; stay below it.
    limit = Image.MAX_IMAGE_PIXELS
    return _TILE_PIXELS if limit is None else max(1, min(_TILE_PIXELS, int(limit)))


def _gray_into(img: Image.Image, *, transpose: bool) -> np.ndarray:
    """Convert ``img`` tile by tile into a new uint8 array, transposed if asked."""
    return _convert_into(img, _tile_converter(img), transpose=transpose)


def _convert_into(img: Image.Image, convert: _TileConverter, *, transpose: bool,
                  channels: int | None = None) -> np.ndarray:
    """Apply ``convert`` tile by tile into a new uint8 array (rows, cols[, channels]),
    transposed (rows and columns swapped) if asked."""
    width, height = img.size
    shape = (width, height) if transpose else (height, width)
    out = np.empty(shape if channels is None else (*shape, channels), dtype=np.uint8)
    for x0, y0, x1, y1 in _tiles(width, height):
        part = convert(img.crop((x0, y0, x1, y1)))
        if transpose:
            out[x0:x1, y0:y1] = part.swapaxes(0, 1)
        else:
            out[y0:y1, x0:x1] = part
    return out


def _tile_converter(img: Image.Image) -> _TileConverter:
    """Pick the conversion for the mode of ``img`` (global scaling computed here)."""
    mode = img.mode
    if mode == "L":
        return np.asarray
    if mode == "1":
        # convert("L") maps bits to 0/255; np.asarray on mode "1" would give bool.
        return lambda tile: np.asarray(tile.convert("L"))
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in img.info):
        return _composite_over_white
    if mode == "P" and (lut := _eight_bit_tiff_colormap(img)) is not None:
        return lambda tile: lut[np.asarray(tile)]
    if mode in ("P", *_COLOUR_VIA_RGB):
        return lambda tile: np.asarray(tile.convert("RGB").convert("L"))
    if mode in ("RGB", "RGBX"):
        return lambda tile: np.asarray(tile.convert("L"))
    if mode == "I" or mode.startswith("I;"):
        return _integer_converter(img)
    if mode == "F" or mode.startswith("F;"):
        return _float_converter(img)
    raise ScanError(f"image mode {mode!r} is not supported")


def _eight_bit_tiff_palette(img: Image.Image) -> np.ndarray | None:
    """(256, 3) uint8 RGB per palette index when a TIFF's ColorMap holds 0..255, not 0..65535.

    The TIFF standard stores colour-map entries as 16-bit values; some writers store
    8-bit ones. Pillow scales by 1/256, which turns such a palette entirely black. When
    the palette Pillow built is all zero but the tag has non-zero entries no larger than
    255, the entries are taken as 8-bit colours. Returns None otherwise.
    """
    tags = getattr(img, "tag_v2", None)
    cmap = tags.get(320) if tags is not None else None
    palette = img.getpalette()
    if not cmap or not palette or max(palette) != 0 or not 0 < max(cmap) <= 255:
        return None
    c = np.asarray(cmap, dtype=np.int64).reshape(3, -1)[:, :256]  # all reds, greens, blues
    lut = np.zeros((256, 3), np.uint8)
    lut[: c.shape[1]] = np.clip(c.T, 0, 255)
    return lut


def _eight_bit_tiff_colormap(img: Image.Image) -> np.ndarray | None:
    """Grey value per palette index for the palettes of :func:`_eight_bit_tiff_palette`."""
    rgb = _eight_bit_tiff_palette(img)
    if rgb is None:
        return None
    c = rgb.astype(np.float64)
    return np.clip(np.rint(0.299 * c[:, 0] + 0.587 * c[:, 1] + 0.114 * c[:, 2]), 0, 255
                   ).astype(np.uint8)


def _composite_over_white(tile: Image.Image) -> np.ndarray:
    la = np.asarray(tile.convert("LA"), dtype=np.uint16)
    lum, alpha = la[..., 0], la[..., 1]
    ink = ((255 - lum) * alpha + 127) // 255
    return (255 - ink).astype(np.uint8)


def _extrema(img: Image.Image, *, finite_only: bool) -> tuple[float, float] | None:
    """Min and max sample value over the whole image (None if there is none)."""
    lo = hi = None
    width, height = img.size
    for box in _tiles(width, height):
        values = np.asarray(img.crop(box))
        if finite_only:
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
        t_lo, t_hi = values.min(), values.max()
        lo = t_lo if lo is None else min(lo, t_lo)
        hi = t_hi if hi is None else max(hi, t_hi)
    if lo is None or hi is None:
        return None
    return lo.item(), hi.item()


def _integer_converter(img: Image.Image) -> _TileConverter:
    lo, hi = _extrema(img, finite_only=False) or (0, 0)
    lo, hi = int(lo), int(hi)
    if lo >= 0 and hi <= 65535:
        bits = max(8, hi.bit_length())
        full = (1 << bits) - 1
        logger.debug("integer samples %d..%d scaled by %d (%d bits)", lo, hi, full, bits)
        if full == 255:
            return lambda tile: np.asarray(tile).astype(np.uint8)

        def scale(tile: Image.Image) -> np.ndarray:
            v = np.asarray(tile).astype(np.uint32)
            return ((v * 255 + full // 2) // full).astype(np.uint8)

        return scale

    span = hi - lo
    logger.debug("integer samples %d..%d stretched to 0..255", lo, hi)
    if span == 0:  # constant outside 0..65535: blank paper
        return lambda tile: np.full((tile.height, tile.width), 255, dtype=np.uint8)

    def stretch(tile: Image.Image) -> np.ndarray:
        v = np.asarray(tile).astype(np.int64) - lo
        return ((v * 255 + span // 2) // span).astype(np.uint8)

    return stretch


def _float_converter(img: Image.Image) -> _TileConverter:
    lo, hi = _extrema(img, finite_only=True) or (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        offset, factor = 0.0, 255.0
    elif lo >= 0.0 and hi <= 255.0:
        offset, factor = 0.0, 1.0
    elif hi > lo:
        offset, factor = lo, 255.0 / (hi - lo)
    else:  # constant outside 0..255 (or no finite value): blank paper
        offset, factor = lo, 0.0
    logger.debug("float samples %g..%g mapped by (v - %g) * %g", lo, hi, offset, factor)

    def convert(tile: Image.Image) -> np.ndarray:
        v = np.asarray(tile, dtype=np.float32)
        g = (v - np.float32(offset)) * np.float32(factor) if factor else np.full_like(v, 255)
        g[np.isnan(g)] = 255.0
        np.clip(g, 0.0, 255.0, out=g)
        return np.rint(g).astype(np.uint8)

    return convert

"""Tests for logdigit.scanio: every image is generated here, small, in tmp_path."""

from __future__ import annotations

import logging
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logdigit.errors import ScanError
from logdigit.scanio import (
    DEFAULT_MAX_PIXELS,
    SUFFIXES,
    Scan,
    image_info,
    read_scan,
    to_gray,
)

# ----------------------------------------------------------------------------- helpers


def _pattern(rows: int = 40, cols: int = 30) -> np.ndarray:
    """A deterministic gray pattern with black, white and mid tones."""
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return ((r * 7 + c * 13) % 256).astype(np.uint8)


def _bilevel(rows: int = 37, cols: int = 53) -> np.ndarray:
    """A 0/255 pattern with a width that is not a multiple of 8."""
    rng = np.random.default_rng(0)
    return np.where(rng.random((rows, cols)) < 0.3, 0, 255).astype(np.uint8)


def _g4_tiff(
    width: int,
    height: int,
    strip: bytes = b"\x00\x01\x02\x03",
    *,
    declared: int | None = None,
    photometric: int = 0,
) -> bytes:
    """Hand-made little-endian TIFF: one IFD for a 1-bit CCITT Group 4 image, one strip.

    The header declares ``width`` x ``height`` px whatever ``strip`` holds, and a strip
    of ``declared`` bytes (default ``len(strip)``), so it can describe an image far larger
    than the file, or a strip cut short.
    """
    entries = [
        (256, 4, width),  # ImageWidth, LONG
        (257, 4, height),  # ImageLength, LONG
        (258, 3, 1),  # BitsPerSample, SHORT
        (259, 3, 4),  # Compression = CCITT Group 4
        (262, 3, photometric),  # 0 = WhiteIsZero, 1 = BlackIsZero
        (273, 4, 0),  # StripOffsets (set below)
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, height),  # RowsPerStrip
        (279, 4, len(strip) if declared is None else declared),  # StripByteCounts
    ]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    out = bytearray(b"II" + struct.pack("<HI", 42, ifd_offset))
    out += struct.pack("<H", len(entries))
    for tag, typ, value in entries:
        if tag == 273:
            value = data_offset
        if typ == 3:
            out += struct.pack("<HHIHH", tag, typ, 1, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, 1, value)
    out += struct.pack("<I", 0)  # no next IFD
    return bytes(out) + strip


def _g4_strip(arr: np.ndarray, tmp_path: Path) -> bytes:
    """The Group 4 coded strip of ``arr`` (0/255), as Pillow/libtiff write it."""
    path = tmp_path / "source_g4.tif"
    Image.fromarray(arr).convert("1").save(path, compression="group4")
    with Image.open(path) as img:
        assert img.tag_v2[262] == 1  # BlackIsZero
        (offset,), (count,) = img.tag_v2[273], img.tag_v2[279]
    return path.read_bytes()[offset : offset + count]


# ------------------------------------------------------------------------- constants


def test_constants() -> None:
    assert DEFAULT_MAX_PIXELS == 2_000_000_000
    assert 12_800 * 100_000 <= DEFAULT_MAX_PIXELS
    assert SUFFIXES == (".tif", ".tiff", ".png", ".jpg", ".jpeg")


# ------------------------------------------------------------------------ round trips


def test_group4_tiff_round_trip_exact(tmp_path: Path) -> None:
    arr = _bilevel()
    path = tmp_path / "g4.tif"
    Image.fromarray(arr).convert("1").save(path, compression="group4")
    with Image.open(path) as img:  # the test really exercises a G4 bilevel file
        assert img.mode == "1"
        assert img.info.get("compression") == "group4"

    scan = read_scan(path)

    assert isinstance(scan, Scan)
    assert scan.pixels.dtype == np.uint8
    assert scan.pixels.shape == arr.shape == scan.shape
    np.testing.assert_array_equal(scan.pixels, arr)
    assert set(np.unique(scan.pixels)) == {0, 255}
    assert scan.source == path
    assert (scan.page, scan.n_pages, scan.transposed) == (0, 1, False)
    assert scan.pixels.flags.c_contiguous and scan.pixels.flags.writeable


def test_8bit_tiff_and_png_exact(tmp_path: Path) -> None:
    arr = _pattern()
    for name in ("gray.tif", "gray.png"):
        path = tmp_path / name
        Image.fromarray(arr).save(path)
        np.testing.assert_array_equal(read_scan(path).pixels, arr)


@pytest.mark.parametrize(
    ("maximum", "full"),
    [(65535, 65535), (40000, 65535), (4095, 4095), (200, 255)],
)
def test_16bit_tiff_scaling(tmp_path: Path, maximum: int, full: int) -> None:
    values = np.linspace(0, maximum, 24 * 10).round().astype(np.uint16).reshape(24, 10)
    path = tmp_path / "deep.tif"
    Image.fromarray(values).save(path)
    with Image.open(path) as img:
        assert img.mode.startswith("I;16")

    got = read_scan(path).pixels

    expected = np.rint(values.astype(np.float64) * 255 / full).astype(np.uint8)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    assert got[0, 0] == 0
    assert got[-1, -1] == round(maximum * 255 / full)


def test_16bit_big_endian(tmp_path: Path) -> None:
    values = np.array([[0, 65535], [32768, 1000]], dtype=">u2")
    values = np.tile(values, (3, 3))
    path = tmp_path / "be.tif"
    Image.frombytes("I;16B", (6, 6), values.tobytes()).save(path)

    got = read_scan(path).pixels

    expected = np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)


def test_32bit_integer_outside_16bit_range_is_stretched() -> None:
    values = np.array([[-1000, 0], [99000, 49000]], dtype=np.int32)
    got = to_gray(Image.fromarray(values))
    np.testing.assert_array_equal(got, [[0, 3], [255, 128]])


def test_float_image_in_unit_range() -> None:
    values = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)
    got = to_gray(Image.fromarray(values))
    np.testing.assert_array_equal(got, [[0, 128], [255, 255]])


def test_palette_tiff_and_png(tmp_path: Path) -> None:
    index = np.array([[0, 1, 2, 3]] * 3, dtype=np.uint8)
    palette = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255]
    expected = np.array([[0, 255, 76, 29]] * 3, dtype=np.uint8)  # luma of the colours
    for name in ("pal.tif", "pal.png"):
        img = Image.frombytes("P", (4, 3), index.tobytes())
        img.putpalette(palette + [0] * (768 - len(palette)))
        path = tmp_path / name
        img.save(path)
        with Image.open(path) as check:
            assert check.mode == "P"
        np.testing.assert_array_equal(read_scan(path).pixels, expected)


def test_palette_tiff_with_an_8_bit_colormap(tmp_path: Path) -> None:
    """Some writers store the TIFF ColorMap as 0..255 (the standard says 0..65535);
    Pillow then reads the whole page as black. Such a map is taken as 8-bit colours."""
    tifffile = pytest.importorskip("tifffile")
    idx = np.zeros((40, 30), np.uint8)
    idx[:, 10:12] = 1
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, 0] = 255  # index 0 white, index 1 black, in 8-bit values
    cmap[0, 2] = 200  # index 2 a red, unused here
    path = tmp_path / "p8.tif"
    tifffile.imwrite(path, idx, photometric="palette", colormap=cmap)
    px = read_scan(path).pixels
    assert (px[:, 10:12] == 0).all() and (px[:, :10] == 255).all()


def test_palette_png_with_transparent_entry_is_white(tmp_path: Path) -> None:
    img = Image.frombytes("P", (3, 2), bytes([0, 1, 0, 1, 0, 1]))
    img.putpalette([0, 0, 0, 10, 10, 10] + [0] * 762)
    path = tmp_path / "pal_t.png"
    img.save(path, transparency=1)

    got = read_scan(path).pixels

    np.testing.assert_array_equal(got, [[0, 255, 0], [255, 0, 255]])


def test_rgb_luma(tmp_path: Path) -> None:
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 255, 255)
    rgb[1, 1] = (255, 0, 0)
    rgb[2, 2] = (0, 255, 0)
    rgb[3, 3] = (0, 0, 255)
    path = tmp_path / "rgb.tif"
    Image.fromarray(rgb).save(path)

    got = read_scan(path).pixels

    assert got.shape == (4, 5)
    assert (got[0, 0], got[1, 1], got[2, 2], got[3, 3], got[0, 1]) == (255, 76, 150, 29, 0)


def test_colour_is_kept_only_when_asked_and_only_for_colour_pages(tmp_path: Path) -> None:
    rgb = np.zeros((6, 5, 3), dtype=np.uint8)
    rgb[..., 0] = np.arange(5) * 50
    rgb[..., 1] = np.arange(6)[:, None] * 40
    rgb[2, 3] = (0, 204, 0)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[..., 1]).save(tmp_path / "grey.png")
    assert read_scan(tmp_path / "rgb.png").rgb is None  # not asked: no 3 bytes per pixel
    scan = read_scan(tmp_path / "rgb.png", colour=True)
    np.testing.assert_array_equal(scan.rgb, rgb)
    assert scan.pixels.shape == scan.rgb.shape[:2]
    strip = read_scan(tmp_path / "rgb.png", colour=True, orientation="depth-right")
    np.testing.assert_array_equal(strip.rgb, rgb.transpose(1, 0, 2))
    assert read_scan(tmp_path / "grey.png", colour=True).rgb is None


def test_colour_of_palette_pages_including_8_bit_tiff_colormaps(tmp_path: Path) -> None:
    index = np.array([[0, 1, 2, 3]] * 3, dtype=np.uint8)
    palette = [255, 255, 255, 0, 0, 0, 0, 204, 0, 0, 0, 204]
    img = Image.frombytes("P", (4, 3), index.tobytes())
    img.putpalette(palette + [0] * (768 - len(palette)))
    img.save(tmp_path / "pal.png")
    want = np.array(palette, np.uint8).reshape(4, 3)[index]
    np.testing.assert_array_equal(read_scan(tmp_path / "pal.png", colour=True).rgb, want)
    tifffile = pytest.importorskip("tifffile")
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, :4] = np.array(palette).reshape(4, 3).T  # 8-bit values in a 16-bit map
    tifffile.imwrite(tmp_path / "p8.tif", index, photometric="palette", colormap=cmap)
    np.testing.assert_array_equal(read_scan(tmp_path / "p8.tif", colour=True).rgb, want)


def test_rgba_transparent_is_white(tmp_path: Path) -> None:
    rgba = np.zeros((3, 4, 4), dtype=np.uint8)  # black everywhere
    rgba[0, :, 3] = 255  # row 0 opaque black
    rgba[1, :, 3] = 0  # row 1 fully transparent
    rgba[2, :, 3] = 128  # row 2 half transparent
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(path)

    got = read_scan(path).pixels

    np.testing.assert_array_equal(got[0], 0)
    np.testing.assert_array_equal(got[1], 255)
    np.testing.assert_array_equal(got[2], 127)


def test_la_transparent_is_white() -> None:
    la = np.array([[[0, 255], [0, 0]], [[100, 255], [100, 0]]], dtype=np.uint8)
    got = to_gray(Image.fromarray(la))
    np.testing.assert_array_equal(got, [[0, 255], [100, 255]])


def test_cmyk() -> None:
    img = Image.new("CMYK", (2, 2), (0, 0, 0, 0))
    img.putpixel((1, 0), (0, 0, 0, 255))
    np.testing.assert_array_equal(to_gray(img), [[255, 0], [255, 255]])


def test_jpeg_approximate(tmp_path: Path) -> None:
    arr = np.full((32, 48), 255, dtype=np.uint8)
    arr[8:24, 16:32] = 0
    path = tmp_path / "scan.jpg"
    Image.fromarray(arr).save(path, quality=95)

    got = read_scan(path).pixels

    assert got.shape == arr.shape
    assert np.abs(got.astype(int) - arr.astype(int)).mean() < 5
    assert got[16, 24] < 30 and got[2, 2] > 225


def test_multipage_tiff(tmp_path: Path) -> None:
    first = np.full((10, 12), 255, dtype=np.uint8)
    second = _pattern(8, 9)
    path = tmp_path / "multi.tif"
    Image.fromarray(first).save(path, save_all=True, append_images=[Image.fromarray(second)])

    scan = read_scan(path, page=1)

    assert (scan.page, scan.n_pages) == (1, 2)
    np.testing.assert_array_equal(scan.pixels, second)
    assert image_info(path, page=1) == (9, 8, 2)
    assert image_info(path) == (12, 10, 2)
    with pytest.raises(ScanError, match=r"page 3 requested, the file has 2 pages") as info:
        read_scan(path, page=3)
    assert str(path) in str(info.value)
    with pytest.raises(ScanError, match="page 2 requested"):
        image_info(path, page=2)


def test_page_out_of_range_single_page(tmp_path: Path) -> None:
    path = tmp_path / "one.png"
    Image.fromarray(_pattern()).save(path)
    with pytest.raises(ScanError, match=r"page 1 requested, the file has 1 page$"):
        read_scan(path, page=1)


def test_depth_right_transposes(tmp_path: Path) -> None:
    stored = np.full((6, 20), 255, dtype=np.uint8)  # 6 rows, 20 columns: depth to the right
    stored[1, 17] = 0
    stored[4, 2] = 100
    path = tmp_path / "strip.png"
    Image.fromarray(stored).save(path)

    scan = read_scan(path, orientation="depth-right")

    assert scan.transposed is True
    assert scan.shape == (20, 6)
    assert scan.pixels[17, 1] == 0  # working row = stored column
    assert scan.pixels[2, 4] == 100
    np.testing.assert_array_equal(scan.pixels, stored.T)
    assert scan.pixels.flags.c_contiguous
    assert read_scan(path).transposed is False


def test_bad_orientation_is_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.fromarray(_pattern()).save(path)
    with pytest.raises(ValueError, match="orientation"):
        read_scan(path, orientation="sideways")


def test_negative_page_is_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.fromarray(_pattern()).save(path)
    with pytest.raises(ValueError, match="page"):
        read_scan(path, page=-1)


def test_dpi_from_tiff(tmp_path: Path) -> None:
    path = tmp_path / "dpi.tif"
    Image.fromarray(_pattern()).save(path, dpi=(300, 300))
    assert read_scan(path).dpi == pytest.approx((300.0, 300.0))

    plain = tmp_path / "nodpi.png"
    Image.fromarray(_pattern()).save(plain)
    assert read_scan(plain).dpi is None


def test_dpi_of_stored_image_kept_when_transposed(tmp_path: Path) -> None:
    path = tmp_path / "dpi2.tif"
    Image.fromarray(_pattern()).save(path, dpi=(200, 400))
    scan = read_scan(path, orientation="depth-right")
    assert scan.dpi == pytest.approx((200.0, 400.0))


def test_debug_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "log.png"
    Image.fromarray(_pattern()).save(path)
    with caplog.at_level(logging.DEBUG, logger="logdigit.scanio"):
        read_scan(path)
    assert "mode L, 30 x 40 px, page 1 of 1" in caplog.text


# -------------------------------------------------------------- size limits / bombs


def test_huge_header_rejected_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tif"
    path.write_bytes(_g4_tiff(200_000, 200_000))
    pillow_limit = Image.MAX_IMAGE_PIXELS

    assert image_info(path) == (200_000, 200_000, 1)  # header only, nothing decoded
    start = time.perf_counter()
    with pytest.raises(ScanError) as info:
        read_scan(path)
    elapsed = time.perf_counter() - start

    message = str(info.value)
    assert message.startswith(f"{path}: image is 200000 x 200000 px = 40000000000 pixels")
    assert f"above the limit of {DEFAULT_MAX_PIXELS} pixels" in message
    assert "\n" not in message
    assert elapsed < 2.0
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # global setting restored


def test_max_pixels_option(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(_pattern(10, 10)).save(path)
    with pytest.raises(ScanError, match="above the limit of 99 pixels"):
        read_scan(path, max_pixels=99)
    assert read_scan(path, max_pixels=100).shape == (10, 10)
    with pytest.raises(ValueError, match="max_pixels"):
        read_scan(path, max_pixels=0)


def test_pillow_global_limit_does_not_fire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan above Pillow's own limit reads fine when within max_pixels."""
    arr = _bilevel(60, 50)
    path = tmp_path / "big.tif"
    Image.fromarray(arr).convert("1").save(path, compression="group4")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 3000 px > 2 * 100

    scan = read_scan(path)

    np.testing.assert_array_equal(scan.pixels, arr)
    assert image_info(path) == (50, 60, 1)
    assert Image.MAX_IMAGE_PIXELS == 100  # restored, not left switched off


def test_to_gray_over_many_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tile boundaries (including single-row, split-column tiles) leave no seams."""
    import logdigit.scanio as scanio

    arr = _pattern(23, 17)
    for tile in (1, 5, 16, 17, 40):
        monkeypatch.setattr(scanio, "_TILE_PIXELS", tile)
        np.testing.assert_array_equal(to_gray(Image.fromarray(arr)), arr)
        img = Image.fromarray(arr)
        np.testing.assert_array_equal(scanio._gray_into(img, transpose=True), arr.T)


# ---------------------------------------------------------------------------- errors


def _scan_error(path: Path) -> str:
    with pytest.raises(ScanError) as info:
        read_scan(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert "Traceback" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.tif"
    assert "does not exist" in _scan_error(path)
    with pytest.raises(ScanError, match="does not exist"):
        image_info(path)


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scans.tif"
    folder.mkdir()
    assert "is a folder" in _scan_error(folder)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    assert "is empty" in _scan_error(path)


def test_text_file_named_tif(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("DEPTH GR\n1000 45.2\n")
    assert "not an image" in _scan_error(path)
    with pytest.raises(ScanError, match="not an image"):
        image_info(path)


def test_truncated_tiff(tmp_path: Path) -> None:
    whole = tmp_path / "whole.tif"
    Image.fromarray(_pattern(200, 150)).save(whole)
    data = whole.read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) // 2])
    image_info(path)  # the header survives the cut

    assert "truncated or corrupt" in _scan_error(path)


def test_truncated_group4_tiff(tmp_path: Path) -> None:
    arr = _bilevel(300, 200)
    strip = _g4_strip(arr, tmp_path)
    whole = tmp_path / "whole_g4.tif"
    whole.write_bytes(_g4_tiff(200, 300, strip, photometric=1))
    np.testing.assert_array_equal(read_scan(whole).pixels, arr)  # the helper is sound

    path = tmp_path / "cut_g4.tif"
    path.write_bytes(_g4_tiff(200, 300, strip[: len(strip) // 2], declared=len(strip)))

    assert "truncated or corrupt" in _scan_error(path)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_tiff_cut_before_its_directory(tmp_path: Path) -> None:
    """Pillow writes G4 TIFFs with the directory at the end: cutting loses it."""
    whole = tmp_path / "whole_g4.tif"
    Image.fromarray(_bilevel(300, 200)).convert("1").save(whole, compression="group4")
    data = whole.read_bytes()
    path = tmp_path / "cut_g4.tif"
    path.write_bytes(data[: len(data) // 2])

    message = _scan_error(path)
    assert "starts like a TIFF file" in message and "truncated or corrupt" in message


def test_one_pixel_image(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    Image.new("L", (1, 1), 255).save(path)
    message = _scan_error(path)
    assert "1 x 1 px" in message and "too small" in message


def test_one_row_image(tmp_path: Path) -> None:
    path = tmp_path / "line.png"
    Image.new("L", (50, 1), 255).save(path)
    assert "too small" in _scan_error(path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    Image.fromarray(_pattern()).save(path)
    path.chmod(0)
    try:
        assert "permission denied" in _scan_error(path)
    finally:
        path.chmod(0o644)


def test_scan_validates_pixels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2-D uint8"):
        Scan(
            pixels=np.zeros((2, 2), dtype=np.float64),
            source=tmp_path,
            page=0,
            n_pages=1,
            transposed=False,
            dpi=None,
        )

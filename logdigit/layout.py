"""The layout sidecar: where the depth scale and the curve tracks sit on a scan.

A scan ``scan.tif`` is described by a TOML file, found by :func:`find_layout` (an explicit
path, else ``scan.toml`` next to the scan, else ``logdigit.toml`` in the scan's folder),
read by :func:`load_layout` and checked by :func:`parse_layout`. Any problem raises
:class:`~logdigit.errors.LayoutError` with one line naming the file and the key, e.g.::

    scan.toml: tracks[1].curves[0].scale: must be "linear" or "log", got "lin"

Unknown keys are not errors: each gives a warning (``scan.toml: unknown key
tracks[0].colour (ignored)``), logged and kept in :attr:`Layout.warnings`.

Schema
------
::

    orientation = "depth-down"   # or "depth-right" (strip images). Default depth-down.

    [depth]                      # required
    top = 1000.0                 # required: depth at row top_row
    bottom = 1850.0              # required: depth at row bottom_row; must be > top
    top_row = 0                  # optional, default 0
    bottom_row = 8799            # optional, default the last row of the image
    unit = "FT"                  # required: FT or M (case-insensitive aliases F, FEET, FOOT
                                 # -> FT; METER, METERS, METRE, METRES -> M)
    step = 0.5                   # optional output step; default 0.5 for FT, 0.1524 for M

    [well]                       # optional: copied into the LAS ~Well section, in order
    WELL = "EXAMPLE 1-1"         # values: strings, numbers or dates (stored as text)
    UWI = "05-123-45678"

    [[tracks]]                   # one or more
    left_px = 2                  # column where each curve's `left` value sits
    right_px = 499               # column where each curve's `right` value sits (> left_px)

      [[tracks.curves]]          # one or more per track (see "Several curves" below)
      mnemonic = "GR"            # required, unique across the layout
      unit = "GAPI"              # optional, default ""
      description = "Gamma ray"  # optional, default ""
      left = 0                   # value at left_px
      right = 150                # value at right_px; right < left means a reversed scale
      scale = "linear"           # or "log" (then left and right must be > 0); default linear
      style = "solid"            # "solid" (segmentation class 1) or "dashed"/"dotted"/
                                 # "dash-dot" (class 2); default solid.
      backup = [150, 300]        # optional: backup (wrap-around) scale(s), see below
      colour = "green"           # optional: ink colour on colour scans ("#rrggbb" or a
                                 # name; "color" also works); colour_tolerance = 90

Rules
-----
* Depth increases downward: ``bottom > top`` and ``bottom_row > top_row``.
* Numbers must be finite (TOML ``nan`` and ``inf`` are rejected); rows are whole numbers
  >= 0; pixel columns are >= 0 and may be fractional.
* Mnemonics are stripped of surrounding whitespace and keep their case; they may not contain
  spaces, ``.`` or ``:`` (LAS delimiters), may not be ``DEPT``/``DEPTH`` (the index curve),
  and must be unique (ignoring case).
* ``backup`` is one ``[left, right]`` pair or a list of them (``[[150, 300], [300, 450]]``).
  A curve that leaves the track at the edge where its scale reads ``v`` comes back in at
  the opposite edge on the scale that reads ``v`` there; the tracer stitches the pieces
  into one continuous curve and the LAS carries the true values. A trace that starts on a
  backup scale is recognised from its first wraps when they only fit that way.
* ``colour`` (or ``color``) is ``"#rrggbb"`` or a name (black, red, green, blue, cyan,
  magenta, yellow, orange, brown, purple, grey). On a colour scan the curve is traced on
  the pixels near that colour (within ``colour_tolerance`` RGB units, default 90) instead
  of the segmenter's ink map, which separates a coloured curve from the black grid and
  from curves of other colours whatever their line style. On a grey scan it is ignored
  with a warning.
* ``[well]`` keys follow the same character rules; ``STRT``, ``STOP``, ``STEP`` and ``NULL``
  are written by logdigit itself, so they are ignored with a warning.

Several curves in a track
-------------------------
What the pipeline can tell apart, and how:

* **A solid and a broken (dashed, dotted, dash-dot) curve**: separable by line style. The
  segmenter's class and the continuity of the ink decide, stretch by stretch between
  crossings, which trace is which (:func:`logdigit.trace.resolve_crossings`).
* **Two curves of the same class** (two solid lines; or dashed and dotted, which the model
  does not distinguish): *not* separable by style. Each is traced on the ink left by the
  curves listed before it; where they meet, the slopes before and after the contact decide
  whether they crossed (:func:`logdigit.trace.resolve_same_style`). Where the slopes cannot
  tell, both curves are NULL from that contact to the next one, and every such decision is
  reported as a warning (stderr, ``--json`` and the LAS ~Other notes): one curve's ink is
  never given to another silently.
* Curves of the same class must be listed **left to right as they are at the top** of the
  digitized interval: nothing else tells them apart. Dashed, dotted and dash-dot lines
  are one class for the model; their dash patterns are not compared.

Orientation
-----------
Row and column numbers refer to the *working image*, in which depth runs down the rows.
For ``depth-down`` that is the scan itself. For ``depth-right`` (a strip whose depth
increases to the right) the scan is transposed first (its top edge becomes the left
edge), so ``top_row``/``bottom_row`` are the scan's x coordinates (columns, counted from
the left) and ``left_px``/``right_px`` are its y coordinates (rows, counted from the top).
:meth:`Layout.resolved` checks the layout against the working image size.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import logging
import math
import numbers
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .colour import DEFAULT_TOLERANCE, parse_colour
from .errors import LayoutError
from .lasfile import DEPTH_UNIT_ALIASES

__all__ = [
    "LAYOUT_FILENAME",
    "Curve",
    "DepthCalibration",
    "Layout",
    "Track",
    "find_layout",
    "layout_template",
    "load_layout",
    "parse_layout",
]

logger = logging.getLogger(__name__)

LAYOUT_FILENAME = "logdigit.toml"

ORIENTATIONS = ("depth-down", "depth-right")
SCALES = ("linear", "log")
STYLES = ("solid", "dashed", "dotted", "dash-dot")
DEFAULT_STEPS = {"FT": 0.5, "M": 0.1524}

_UNIT_ALIASES = DEPTH_UNIT_ALIASES
_TOP_KEYS = ("orientation", "depth", "well", "tracks")
_DEPTH_KEYS = ("top", "bottom", "top_row", "bottom_row", "unit", "step")
_TRACK_KEYS = ("left_px", "right_px", "curves")
_CURVE_KEYS = ("mnemonic", "unit", "description", "left", "right", "scale", "style", "backup",
               "colour", "color", "colour_tolerance")
_RESERVED_MNEMONICS = ("DEPT", "DEPTH")
_WRITER_WELL_KEYS = ("STRT", "STOP", "STEP", "NULL")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LAS_BAD_CHARS = re.compile(r"[\s.:]")


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Curve:
    """One curve drawn in a track.

    Parameters
    ----------
    mnemonic : str
        LAS mnemonic, e.g. ``"GR"``.
    left, right : float
        Curve values at the track's ``left_px`` and ``right_px`` columns. ``right < left``
        is a reversed scale.
    unit : str, optional
        LAS unit, e.g. ``"GAPI"``.
    scale : {"linear", "log"}
        How values map to columns between ``left`` and ``right``.
    style : {"solid", "dashed", "dotted"}
        Line style on the scan; selects the segmentation class (see :attr:`cls`).
    description : str, optional
        LAS curve description.
    backup : tuple of (left, right) pairs, optional
        Backup (wrap-around) scales: values past the edge of the main scale are drawn
        again inside the track on these scales, in the same columns. A curve leaving the
        track at the edge whose value is ``v`` re-enters at the opposite edge on the
        backup scale that has ``v`` at that edge (GR 0-150 with ``((150, 300),)``; a
        reversed sonic 140-40 with ``((240, 140),)``). Same ``scale`` as the main one.
    colour : (r, g, b), optional
        The curve's ink colour on a colour scan: it is then traced on its colour
        (:mod:`logdigit.colour`) instead of the segmenter's ink map.
    colour_tolerance : float
        RGB distance (0..441) up to which a pixel counts as the curve's colour.
    """

    mnemonic: str
    left: float
    right: float
    unit: str = ""
    scale: str = "linear"
    style: str = "solid"
    description: str = ""
    backup: tuple[tuple[float, float], ...] = ()
    colour: tuple[int, int, int] | None = None
    colour_tolerance: float = DEFAULT_TOLERANCE

    @property
    def cls(self) -> int:
        """Segmentation class of the curve: 1 for solid, 2 for dashed or dotted.

        Raises
        ------
        ValueError
            ``style`` is not one of solid, dashed, dotted.
        """
        if self.style == "solid":
            return 1
        if self.style in ("dashed", "dotted", "dash-dot"):
            return 2
        raise ValueError(f"curve {self.mnemonic}: unknown style {self.style!r}")


@dataclass(frozen=True)
class Track:
    """A track: a column band of the working image holding one or more curves.

    Parameters
    ----------
    left_px, right_px : float
        Working-image columns where each curve's ``left`` and ``right`` values sit
        (``left_px < right_px``).
    curves : tuple of Curve
        The curves drawn in the track (see "Several curves in a track" in the module
        docstring for what can be told apart).
    """

    left_px: float
    right_px: float
    curves: tuple[Curve, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "curves", tuple(self.curves))


@dataclass(frozen=True)
class DepthCalibration:
    """Linear depth scale of the working image.

    Parameters
    ----------
    top, bottom : float
        Depths at rows ``top_row`` and ``bottom_row`` (``top < bottom``).
    unit : {"FT", "M"}
        Depth unit.
    step : float
        Output depth step, in ``unit``.
    top_row : int
        Working-image row of ``top``.
    bottom_row : int or None
        Working-image row of ``bottom``; None until resolved against an image by
        :meth:`Layout.resolved` (then the last row unless given).
    """

    top: float
    bottom: float
    unit: str
    step: float
    top_row: int = 0
    bottom_row: int | None = None


@dataclass(frozen=True)
class Layout:
    """A validated layout: depth calibration, tracks and well information.

    Parameters
    ----------
    depth : DepthCalibration
        The depth scale.
    tracks : tuple of Track
        The tracks, in file order.
    orientation : {"depth-down", "depth-right"}
        Whether the scan must be transposed so that depth runs down the rows.
    well : tuple of (str, str)
        Ordered ``(key, value)`` pairs for the LAS ~Well section.
    source : Path or None
        The file the layout was read from, used in error messages.
    warnings : tuple of str
        Non-fatal problems found while parsing (e.g. unknown keys).
    """

    depth: DepthCalibration
    tracks: tuple[Track, ...]
    orientation: str = "depth-down"
    well: tuple[tuple[str, str], ...] = ()
    source: Path | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracks", tuple(self.tracks))
        object.__setattr__(self, "well", tuple((str(k), str(v)) for k, v in self.well))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        if self.source is not None:
            object.__setattr__(self, "source", Path(self.source))

    @property
    def curves(self) -> tuple[tuple[Track, Curve], ...]:
        """Every ``(track, curve)`` pair, in file order."""
        return tuple((track, curve) for track in self.tracks for curve in track.curves)

    def resolved(self, *, n_rows: int, n_cols: int) -> Layout:
        """Check the layout against a working image and fill in ``depth.bottom_row``.

        Parameters
        ----------
        n_rows, n_cols : int
            Size of the working image (after any depth-right transpose).

        Returns
        -------
        Layout
            A copy whose ``depth.bottom_row`` is set (``n_rows - 1`` unless given).

        Raises
        ------
        LayoutError
            A depth row is outside ``[0, n_rows)``, ``top_row >= bottom_row``, or a track
            column is outside ``[0, n_cols)``. The message names the key and the image size.
        ValueError
            ``n_rows`` or ``n_cols`` is not a positive integer.
        """
        for name, value in (("n_rows", n_rows), ("n_cols", n_cols)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        n_rows, n_cols = int(n_rows), int(n_cols)
        where = _where(self.source)
        size = f"the working image is {n_rows} rows x {n_cols} columns"
        if self.orientation == "depth-right":
            size += " after the depth-right transpose"
        depth = self.depth
        if depth.top_row >= n_rows:
            raise LayoutError(
                f"{where}: depth.top_row: row {depth.top_row} is outside the image "
                f"(rows 0..{n_rows - 1}; {size})"
            )
        bottom_row = n_rows - 1 if depth.bottom_row is None else depth.bottom_row
        if bottom_row >= n_rows:
            raise LayoutError(
                f"{where}: depth.bottom_row: row {bottom_row} is outside the image "
                f"(rows 0..{n_rows - 1}; {size})"
            )
        if depth.top_row >= bottom_row:
            what = "given" if depth.bottom_row is not None else "the last image row, by default"
            raise LayoutError(
                f"{where}: depth.top_row: must be less than depth.bottom_row "
                f"({bottom_row}, {what}), got {depth.top_row} ({size})"
            )
        for i, track in enumerate(self.tracks):
            for name in ("left_px", "right_px"):
                px = getattr(track, name)
                if not 0 <= px <= n_cols - 1:
                    raise LayoutError(
                        f"{where}: tracks[{i}].{name}: column {_num(px)} is outside the image "
                        f"(columns 0..{n_cols - 1}; {size})"
                    )
        return dataclasses.replace(self, depth=dataclasses.replace(depth, bottom_row=bottom_row))


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Validation state for one layout: the file name for messages and the warnings."""

    def __init__(self, source: Path | None) -> None:
        self.where = _where(source)
        self.warnings: list[str] = []

    def error(self, key: str, message: str) -> LayoutError:
        text = f"{self.where}: {key}: {message}" if key else f"{self.where}: {message}"
        return LayoutError(" ".join(text.split()))

    def warn(self, message: str) -> None:
        text = " ".join(f"{self.where}: {message}".split())
        self.warnings.append(text)
        logger.warning("%s", text)

    # -- tables -----------------------------------------------------------------------

    def table(self, value: Any, key: str, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table ({what}), got {_describe(value)}")
        return value

    def array_of_tables(self, value: Any, key: str, what: str) -> Sequence[Mapping[str, Any]]:
        if isinstance(value, Mapping):
            raise self.error(key, f"must be an array of tables (write [[{what}]], not [{what}])")
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise self.error(
                key, f"must be an array of tables ([[{what}]]), got {_describe(value)}"
            )
        for i, item in enumerate(value):
            self.table(item, f"{key}[{i}]", f"[[{what}]]")
        return value

    def unknown_keys(self, table: Mapping[str, Any], prefix: str, known: Sequence[str]) -> None:
        for name in table:
            if name in known:
                continue
            key = _join(prefix, name)
            hint = difflib.get_close_matches(str(name), known, n=1)
            if hint:
                self.warn(f"unknown key {key} (ignored; did you mean {_join(prefix, hint[0])}?)")
            else:
                self.warn(f"unknown key {key} (ignored)")

    def missing(self, table: Mapping[str, Any], prefix: str, name: str, hint: str) -> LayoutError:
        key = _join(prefix, name)
        typo = difflib.get_close_matches(name, [str(k) for k in table], n=1)
        if typo:
            hint += f" (found unknown key {_join(prefix, typo[0])}: a typo?)"
        return self.error(key, f"missing; {hint}")

    # -- scalars ------------------------------------------------------------------------

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.error(key, f"must be a number, got {_describe(value)}")
        try:
            result = float(value)
        except (OverflowError, ValueError):
            raise self.error(key, f"must be a finite number, got {_describe(value)}") from None
        if not math.isfinite(result):
            raise self.error(key, f"must be a finite number, got {_describe(value)}")
        return result

    def row(self, value: Any, key: str) -> int:
        number = self.number(value, key)
        if not number.is_integer():
            raise self.error(key, f"must be a whole number (an image row), got {_describe(value)}")
        if number < 0:
            raise self.error(key, f"must be >= 0 (an image row), got {_describe(value)}")
        return int(value) if isinstance(value, numbers.Integral) else int(number)

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_describe(value)}")
        text = value.strip()
        if "\n" in text or "\r" in text:
            raise self.error(key, f"must be a single line, got {_describe(value)}")
        return text

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> str:
        allowed = " or ".join(", ".join(f'"{c}"' for c in choices).rsplit(", ", 1))
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise self.error(key, f"must be {allowed}, got {_describe(value)}")
        return value.strip().lower()

    def las_name(self, value: Any, key: str, what: str) -> str:
        name = self.string(value, key)
        if not name:
            raise self.error(key, f"{what} is empty")
        if _LAS_BAD_CHARS.search(name):
            raise self.error(
                key, f"{what} may not contain spaces, '.' or ':' (LAS), got {_describe(name)}"
            )
        return name

    # -- sections -------------------------------------------------------------------------

    def layout(self, data: Any, source: Path | None) -> Layout:
        data = self.table(data, "", "the whole file")
        self.unknown_keys(data, "", _TOP_KEYS)
        orientation = "depth-down"
        if "orientation" in data:
            orientation = self.choice(data["orientation"], "orientation", ORIENTATIONS)
        if "depth" not in data:
            raise self.missing(data, "", "depth", "add a [depth] table with top, bottom and unit")
        depth = self.depth(self.table(data["depth"], "depth", "[depth]"))
        well = self.well(self.table(data["well"], "well", "[well]")) if "well" in data else ()
        tracks = self.tracks(data)
        return Layout(
            depth=depth,
            tracks=tracks,
            orientation=orientation,
            well=well,
            source=source,
            warnings=tuple(self.warnings),
        )

    def depth(self, table: Mapping[str, Any]) -> DepthCalibration:
        self.unknown_keys(table, "depth", _DEPTH_KEYS)
        for name, hint in (
            ("top", "set the depth at row top_row (default 0)"),
            ("bottom", "set the depth at row bottom_row (default the last row)"),
            ("unit", 'set "FT" or "M"'),
        ):
            if name not in table:
                raise self.missing(table, "depth", name, hint)
        top = self.number(table["top"], "depth.top")
        bottom = self.number(table["bottom"], "depth.bottom")
        raw_unit = table["unit"]
        unit = _UNIT_ALIASES.get(raw_unit.strip().upper()) if isinstance(raw_unit, str) else None
        if unit is None:
            raise self.error(
                "depth.unit", f'must be "FT" or "M" (or FEET, METRES...), got {_describe(raw_unit)}'
            )
        top_row = self.row(table["top_row"], "depth.top_row") if "top_row" in table else 0
        bottom_row = None
        if "bottom_row" in table:
            bottom_row = self.row(table["bottom_row"], "depth.bottom_row")
        if "step" in table:
            step = self.number(table["step"], "depth.step")
            if step <= 0:
                raise self.error("depth.step", f"must be > 0, got {_describe(table['step'])}")
        else:
            step = DEFAULT_STEPS[unit]
        if bottom <= top:
            raise self.error(
                "depth.bottom",
                f"must be greater than depth.top (depth increases downward), "
                f"got top={_num(top)} bottom={_num(bottom)}",
            )
        if bottom_row is not None and top_row >= bottom_row:
            raise self.error(
                "depth.bottom_row",
                f"must be greater than depth.top_row (depth increases downward), "
                f"got top_row={top_row} bottom_row={bottom_row}",
            )
        if step > bottom - top:
            raise self.error(
                "depth.step",
                f"{_num(step)} {unit} is larger than the depth range "
                f"{_num(top)}..{_num(bottom)} {unit}",
            )
        return DepthCalibration(
            top=top, bottom=bottom, unit=unit, step=step, top_row=top_row, bottom_row=bottom_row
        )

    def well(self, table: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        pairs: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for raw_key, value in table.items():
            key = _join("well", raw_key)
            name = self.las_name(raw_key, key, "key")
            if name.upper() in _WRITER_WELL_KEYS:
                self.warn(f"{key} is written by logdigit from [depth] (ignored)")
                continue
            if name.upper() in seen:
                raise self.error(key, f"duplicates {seen[name.upper()]} (LAS ignores case)")
            seen[name.upper()] = key
            pairs.append((name, self.well_value(value, key)))
        return tuple(pairs)

    def well_value(self, value: Any, key: str) -> str:
        if isinstance(value, str):
            return self.string(value, key)
        if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
            return value.isoformat()
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            self.number(value, key)
            return str(value) if isinstance(value, numbers.Integral) else repr(float(value))
        raise self.error(key, f"must be a string, number or date, got {_describe(value)}")

    def tracks(self, data: Mapping[str, Any]) -> tuple[Track, ...]:
        if "tracks" not in data:
            raise self.missing(data, "", "tracks", "add at least one [[tracks]] table")
        items = self.array_of_tables(data["tracks"], "tracks", "tracks")
        if not items:
            raise self.error("tracks", "no tracks; add at least one [[tracks]] table")
        tracks = []
        mnemonics: dict[str, str] = {}
        for i, item in enumerate(items):
            tracks.append(self.track(item, f"tracks[{i}]", mnemonics))
        return tuple(tracks)

    def track(self, table: Mapping[str, Any], prefix: str, mnemonics: dict[str, str]) -> Track:
        self.unknown_keys(table, prefix, _TRACK_KEYS)
        px = {}
        for name in ("left_px", "right_px"):
            if name not in table:
                raise self.missing(table, prefix, name, "set the track's pixel column")
            key = _join(prefix, name)
            px[name] = self.number(table[name], key)
            if px[name] < 0:
                raise self.error(key, f"must be >= 0 (a pixel column), got {_num(px[name])}")
        if px["left_px"] >= px["right_px"]:
            raise self.error(
                _join(prefix, "right_px"),
                f"must be greater than left_px, got left_px={_num(px['left_px'])} "
                f"right_px={_num(px['right_px'])} (a reversed scale is set by the curve's "
                f"left/right values, not by the pixels)",
            )
        if "curves" not in table:
            raise self.missing(table, prefix, "curves", "add a [[tracks.curves]] table")
        items = self.array_of_tables(table["curves"], _join(prefix, "curves"), "tracks.curves")
        if not items:
            raise self.error(
                _join(prefix, "curves"), "track has no curves; add a [[tracks.curves]] table"
            )
        curves: list[Curve] = []
        for j, item in enumerate(items):
            curve_prefix = f"{prefix}.curves[{j}]"
            curve = self.curve(item, curve_prefix)
            mkey = _join(curve_prefix, "mnemonic")
            if curve.mnemonic.upper() in mnemonics:
                raise self.error(
                    mkey,
                    f"duplicate mnemonic {_describe(curve.mnemonic)} (already used by "
                    f"{mnemonics[curve.mnemonic.upper()]}); mnemonics must be unique",
                )
            mnemonics[curve.mnemonic.upper()] = curve_prefix
            curves.append(curve)
        return Track(left_px=px["left_px"], right_px=px["right_px"], curves=tuple(curves))

    def curve(self, table: Mapping[str, Any], prefix: str) -> Curve:
        self.unknown_keys(table, prefix, _CURVE_KEYS)
        if "mnemonic" not in table:
            raise self.missing(table, prefix, "mnemonic", 'set the LAS mnemonic, e.g. "GR"')
        mnemonic = self.las_name(table["mnemonic"], _join(prefix, "mnemonic"), "mnemonic")
        if mnemonic.upper() in _RESERVED_MNEMONICS:
            raise self.error(
                _join(prefix, "mnemonic"),
                f"{_describe(mnemonic)} is reserved for the depth index curve",
            )
        unit = self.string(table.get("unit", ""), _join(prefix, "unit"))
        if re.search(r"\s", unit):
            raise self.error(
                _join(prefix, "unit"), f"may not contain spaces (LAS), got {_describe(unit)}"
            )
        description = self.string(table.get("description", ""), _join(prefix, "description"))
        values = {}
        for name in ("left", "right"):
            if name not in table:
                raise self.missing(table, prefix, name, f"set the curve value at {name}_px")
            values[name] = self.number(table[name], _join(prefix, name))
        scale = "linear"
        if "scale" in table:
            scale = self.choice(table["scale"], _join(prefix, "scale"), SCALES)
        style = "solid"
        if "style" in table:
            style = self.choice(table["style"], _join(prefix, "style"), STYLES)
        if values["left"] == values["right"]:
            raise self.error(
                _join(prefix, "right"),
                f"must differ from left, both are {_num(values['left'])}",
            )
        if scale == "log":
            for name in ("left", "right"):
                if values[name] <= 0:
                    raise self.error(
                        _join(prefix, name),
                        f"must be > 0 for a log scale, got {_num(values[name])}",
                    )
        backup: tuple[tuple[float, float], ...] = ()
        if "backup" in table:
            backup = self.backup(table["backup"], _join(prefix, "backup"), scale=scale,
                                 main=(values["left"], values["right"]))
        colour = None
        keys = [k for k in ("colour", "color") if k in table]
        if len(keys) > 1:
            raise self.error(_join(prefix, "color"), 'give either "colour" or "color", not both')
        if keys:
            try:
                colour = parse_colour(table[keys[0]])
            except ValueError as exc:
                raise self.error(_join(prefix, keys[0]), str(exc)) from None
        tolerance = DEFAULT_TOLERANCE
        if "colour_tolerance" in table:
            tolerance = self.number(table["colour_tolerance"], _join(prefix, "colour_tolerance"))
            if not 0 < tolerance <= 442:
                raise self.error(_join(prefix, "colour_tolerance"),
                                 f"must be > 0 and <= 442, got {_num(tolerance)}")
        return Curve(
            mnemonic=mnemonic,
            left=values["left"],
            right=values["right"],
            unit=unit,
            scale=scale,
            style=style,
            description=description,
            backup=backup,
            colour=colour,
            colour_tolerance=tolerance,
        )

    def backup(self, value: Any, key: str, *, scale: str,
               main: tuple[float, float]) -> tuple[tuple[float, float], ...]:
        """``[left, right]`` or a list of such pairs: the backup (wrap-around) scales."""
        hint = "expected [left, right] or a list of [left, right] pairs, e.g. [150, 300]"
        if not isinstance(value, list) or not value:
            raise self.error(key, f"{hint}; got {_describe(value)}")
        pairs = [value] if not isinstance(value[0], list) else value
        out = []
        for i, pair in enumerate(pairs):
            pkey = key if pairs is not value else f"{key}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.error(pkey, f"{hint}; got {_describe(pair)}")
            lo, hi = (self.number(v, pkey) for v in pair)
            if lo == hi:
                raise self.error(pkey, f"left and right must differ, both are {_num(lo)}")
            if scale == "log" and (lo <= 0 or hi <= 0):
                raise self.error(pkey, f"values must be > 0 for a log scale, got "
                                       f"[{_num(lo)}, {_num(hi)}]")
            if (lo, hi) == tuple(main) or (lo, hi) in out:
                raise self.error(pkey, f"[{_num(lo)}, {_num(hi)}] repeats another scale")
            out.append((lo, hi))
        return tuple(out)


def parse_layout(data: Mapping[str, Any], *, source: Path | None = None) -> Layout:
    """Validate a layout given as a mapping (e.g. the result of :func:`tomllib.load`).

    Parameters
    ----------
    data : Mapping
        The parsed TOML document; see the module docstring for the schema.
    source : Path, optional
        The file the data came from; named in messages and kept in :attr:`Layout.source`.

    Returns
    -------
    Layout
        The layout, with ``depth.bottom_row`` None unless given (see
        :meth:`Layout.resolved`). Unknown keys are listed in :attr:`Layout.warnings` and
        logged as warnings.

    Raises
    ------
    LayoutError
        The layout is invalid; the one-line message names the file and the key.

    Examples
    --------
    >>> layout = parse_layout({
    ...     "depth": {"top": 1000, "bottom": 1100, "unit": "ft"},
    ...     "tracks": [{"left_px": 0, "right_px": 100,
    ...                 "curves": [{"mnemonic": "GR", "left": 0, "right": 150}]}],
    ... })
    >>> layout.depth.unit, layout.depth.step, layout.curves[0][1].cls
    ('FT', 0.5, 1)
    """
    if source is not None:
        source = Path(source)
    return _Parser(source).layout(data, source)


def load_layout(path: Path | str) -> Layout:
    """Read and validate a layout TOML file.

    Parameters
    ----------
    path : Path or str
        The TOML file.

    Returns
    -------
    Layout
        The layout, with :attr:`Layout.source` set to ``path``.

    Raises
    ------
    LayoutError
        The file is missing or unreadable, is not UTF-8 TOML (the message gives the line
        and column), or the layout is invalid.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{path}: layout file not found") from None
    except IsADirectoryError:
        raise LayoutError(f"{path}: is a folder, expected a layout TOML file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LayoutError(f"{path}: cannot read the layout file ({reason})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LayoutError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise LayoutError(f"{path}: invalid TOML: {message}") from None
    return parse_layout(data, source=path)


def find_layout(scan_path: Path | str, *, explicit: Path | str | None = None) -> Path:
    """Find the layout file for a scan.

    Parameters
    ----------
    scan_path : Path or str
        The scan image.
    explicit : Path or str, optional
        A layout given by the user (e.g. ``--layout``); it must exist.

    Returns
    -------
    Path
        In order: ``explicit``; else the scan's name with the suffix replaced by ``.toml``
        (``scan.tif`` -> ``scan.toml``); else ``logdigit.toml`` in the scan's folder.

    Raises
    ------
    LayoutError
        ``explicit`` does not exist or is a folder, or no layout was found (the message
        names both places looked at).
    """
    if explicit is not None:
        explicit = Path(explicit)
        if explicit.is_dir():
            raise LayoutError(f"{explicit}: is a folder, expected a layout TOML file")
        if not explicit.exists():
            raise LayoutError(f"{explicit}: layout file not found")
        return explicit
    scan_path = Path(scan_path)
    sidecar = scan_path.with_suffix(".toml")
    folder_layout = scan_path.parent / LAYOUT_FILENAME
    for candidate in (sidecar, folder_layout):
        if candidate != scan_path and candidate.is_file():
            logger.debug("layout for %s: %s", scan_path, candidate)
            return candidate
    raise LayoutError(
        f"{scan_path}: no layout found (looked for {sidecar} and {folder_layout}); "
        f'write one describing the depth scale and tracks (see the "Layout" section of '
        f"the README for an example)"
    )


def layout_template() -> str:
    """Return a commented example layout TOML covering the whole schema.

    Returns
    -------
    str
        Valid TOML that :func:`parse_layout` accepts without warnings.
    """
    return _TEMPLATE


# --------------------------------------------------------------------------- helpers


def _where(source: Path | None) -> str:
    return str(source) if source is not None else "layout"


def _join(prefix: str, name: Any) -> str:
    name = str(name)
    if not _BARE_KEY.fullmatch(name):
        name = json.dumps(name, ensure_ascii=False)
    return f"{prefix}.{name}" if prefix else name


def _num(value: float) -> str:
    """Format a number for a message: whole numbers without ``.0``, others exactly."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _describe(value: Any) -> str:
    """Describe a TOML value for a message, on one line."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (datetime.date, datetime.time)):
        return f"the date/time {value.isoformat()}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, numbers.Number):
        return str(value)
    if value is None:
        return "nothing"
    return type(value).__name__


_TEMPLATE = """\
# logdigit layout: where the depth scale and the curve tracks sit on the scan.
# Save it next to the scan with the same name (scan.tif -> scan.toml), or as
# logdigit.toml in the scan's folder to share it between scans.
# Rows and columns are pixel coordinates of the working image, in which depth runs
# down the rows (for orientation = "depth-right" the scan is transposed first).

orientation = "depth-down"   # or "depth-right" for strips whose depth increases to the right

[depth]
top = 1000.0        # depth at row top_row
bottom = 1850.0     # depth at row bottom_row (must be greater than top)
top_row = 0         # optional, default 0
bottom_row = 8799   # optional, default the last row of the image
unit = "FT"         # FT or M (also FEET, FOOT, METRES, METERS...)
step = 0.5          # optional output step; default 0.5 for FT, 0.1524 for M

[well]              # optional, copied into the LAS ~Well section
WELL = "EXAMPLE 1-1"
UWI = "05-123-45678"
COMP = "EXAMPLE OPERATING CO"
FLD = "EXAMPLE FIELD"
DATE = "1985-03-01"

[[tracks]]          # one table per track, left to right
left_px = 2         # column where each curve's `left` value sits
right_px = 499      # column where each curve's `right` value sits (greater than left_px)

  [[tracks.curves]]
  mnemonic = "GR"
  unit = "GAPI"             # optional
  description = "Gamma ray" # optional
  left = 0                  # value at left_px
  right = 150               # value at right_px (right < left for a reversed scale)
  scale = "linear"          # "linear" or "log" (log needs left and right > 0)
  style = "solid"           # "solid", "dashed", "dotted" or "dash-dot"

  [[tracks.curves]]
  mnemonic = "SP"
  unit = "MV"
  left = -80
  right = 20
  style = "dashed"
  # backup = [20, 120]      # optional wrap-around scale(s): SP past 20 re-enters at left

[[tracks]]
left_px = 560
right_px = 1060

  [[tracks.curves]]
  mnemonic = "ILD"
  unit = "OHMM"
  description = "Deep induction resistivity"
  left = 0.2
  right = 2000
  scale = "log"
"""

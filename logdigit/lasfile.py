"""LAS 2.0 files: write the digitised curves, read reference logs (tolerantly).

:func:`write_las` writes a deterministic LAS 2.0 file through :mod:`lasio`, atomically.
:func:`read_las` reads real-world LAS files, including many malformed ones: it tries
:func:`lasio.read` with a few options, then repairs common header faults and, if lasio
still cannot read the data section, parses it itself. Any failure is a
:class:`~logdigit.errors.LasReadError` with one line naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lasio
import numpy as np

from .errors import LasReadError
from .outputs import atomic_output

__all__ = [
    "DEPTH_MNEMONICS",
    "NULL",
    "LasCurve",
    "LasData",
    "normalize_depth_unit",
    "read_las",
    "write_las",
]

logger = logging.getLogger(__name__)

#: NULL value written to (and always recognised when reading) LAS files.
NULL = -999.25
#: Curve names recognised as the depth index when reading.
DEPTH_MNEMONICS = ("DEPT", "DEPTH", "MD")
#: Format of curve values in the ~ASCII section.
VALUE_FORMAT = "%.5f"

#: Spellings of the two depth units, upper case -> "FT" or "M".
DEPTH_UNIT_ALIASES = {
    "FT": "FT",
    "F": "FT",
    "FEET": "FT",
    "FOOT": "FT",
    "M": "M",
    "METER": "M",
    "METERS": "M",
    "METRE": "M",
    "METRES": "M",
}
_AUTO_WELL = ("STRT", "STOP", "STEP", "NULL")
#: Well items always written (LAS 2.0 required items), empty unless given.
_REQUIRED_WELL = ("COMP", "WELL", "FLD", "LOC", "PROV", "SRVC", "DATE", "UWI")
_WELL_DESCR = {
    "STRT": "START DEPTH",
    "STOP": "STOP DEPTH",
    "STEP": "STEP",
    "NULL": "NULL VALUE",
    "COMP": "COMPANY",
    "WELL": "WELL",
    "FLD": "FIELD",
    "LOC": "LOCATION",
    "PROV": "PROVINCE",
    "CNTY": "COUNTY",
    "STAT": "STATE",
    "CTRY": "COUNTRY",
    "SRVC": "SERVICE COMPANY",
    "DATE": "DATE",
    "UWI": "UNIQUE WELL ID",
    "API": "API NUMBER",
    "LIC": "LICENSE NUMBER",
}
_BAD_MNEMONIC = re.compile(r"[\s.:]")


@dataclass(frozen=True, eq=False)
class LasCurve:
    """One curve of a LAS file.

    Parameters
    ----------
    mnemonic : str
        Curve name (no spaces, ``.`` or ``:``).
    unit : str
        Unit, e.g. ``"GAPI"``; may be empty.
    values : numpy.ndarray of float64, shape (n,)
        One value per depth; NaN for missing (NULL in the file).
    description : str
        Free text for the ~Curve section.
    """

    mnemonic: str
    unit: str
    values: np.ndarray
    description: str = ""


@dataclass(frozen=True, eq=False)
class LasData:
    """The content of a LAS file read by :func:`read_las`.

    Parameters
    ----------
    path : Path
        The file read.
    depth : numpy.ndarray of float64, shape (n,)
        Depths, finite and strictly increasing (``n >= 1``).
    depth_unit : str
        ``"FT"`` or ``"M"`` when recognisable, else the file's unit upper-cased (may be
        empty).
    curves : dict of str to LasCurve
        The non-index curves keyed by upper-case mnemonic, in file order; values have shape
        (n,) with NaN for NULL. A repeated mnemonic gets a suffix (``RT90``, ``RT90:2``).
    well : dict of str to str
        ~Well items, upper-case mnemonic to value text (first occurrence wins).
    """

    path: Path
    depth: np.ndarray
    depth_unit: str
    curves: dict[str, LasCurve]
    well: dict[str, str] = field(default_factory=dict)


def normalize_depth_unit(unit: str) -> str:
    """``"FT"`` or ``"M"`` for the usual spellings (F, FEET, m, METRES, ...), else upper-case.

    Examples
    --------
    >>> normalize_depth_unit("feet"), normalize_depth_unit("m"), normalize_depth_unit(".1IN")
    ('FT', 'M', '.1IN')
    """
    u = str(unit).strip().upper()
    return DEPTH_UNIT_ALIASES.get(u.rstrip("."), u)


# --------------------------------------------------------------------------- writing


def _format_number(x: float) -> str:
    """Shortest decimal text of ``x`` rounded to 6 decimals (at least one decimal)."""
    x = round(float(x), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = f"{x:.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _depth_decimals(depth: np.ndarray) -> int:
    """Fewest decimals (1..6) that write every depth exactly (after rounding to 6)."""
    r6 = np.round(depth, 6)
    for k in range(1, 7):
        if np.all(np.abs(np.round(r6, k) - r6) < 1e-9):
            return k
    return 6


def _clean_text(value: object) -> str:
    """Header text on one line."""
    return " ".join(str(value).split())


def write_las(
    path: str | Path,
    *,
    depth: np.ndarray,
    depth_unit: str,
    curves: Sequence[LasCurve],
    well: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    notes: Sequence[str] = (),
    overwrite: bool = False,
) -> None:
    """Write a LAS 2.0 file, atomically and deterministically.

    Parameters
    ----------
    path : str or Path
        Output file.
    depth : numpy.ndarray, shape (n,)
        Depths, finite and strictly monotonic (normally increasing), ``n >= 1``. Written
        as the first curve ``DEPT`` with the fewest decimals that keep them exact (values
        are rounded to 6 decimals).
    depth_unit : str
        ``"FT"`` or ``"M"`` (aliases such as ``"F"`` or ``"metres"`` are accepted).
    curves : sequence of LasCurve
        Curves after DEPT, in order; each ``values`` has shape (n,), NaN written as
        :data:`NULL` (-999.25). Values are written with 5 decimals.
    well : mapping or iterable of (str, str)
        ~Well items (WELL, UWI, COMP, FLD, DATE, ...), in order. The LAS 2.0 required
        items COMP, WELL, FLD, LOC, PROV, SRVC, DATE and UWI are always written (empty
        unless given). STRT, STOP, STEP and NULL are written by this function; given
        values for them are ignored with a logged warning (as the layout parser does).
    notes : sequence of str
        Lines for the ~Other section (e.g. ``"logdigit 0.1.0"``, ``"model: ..."``). A note
        with line breaks gives several lines; a leading ``~`` (which would start a
        section) is written as ``-``.
    overwrite : bool
        Replace an existing file.

    Notes
    -----
    STRT and STOP are ``depth[0]`` and ``depth[-1]``, STEP is ``depth[1] - depth[0]``,
    all rounded to 6 decimals. If the depths are not evenly spaced (at 6 decimals)
    STEP is written as 0, as LAS 2.0 prescribes for irregular sampling. Nothing
    time-dependent is written: the same input gives a byte-identical file.

    Raises
    ------
    ValueError
        Invalid arguments: bad depth or curve shapes, non-monotonic depth, unknown depth
        unit, bad or duplicate mnemonics or well item names.
    OutputError
        The file exists and ``overwrite`` is false, or it cannot be written. No partial
        or temporary file is left behind.
    """
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 1 or depth.size == 0:
        raise ValueError(f"depth must be a non-empty 1-D array, got shape {depth.shape}")
    if not np.all(np.isfinite(depth)):
        raise ValueError("depth must be finite")
    steps = np.diff(np.round(depth, 6))
    if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("depth must be strictly monotonic (at 6 decimals)")
    unit = normalize_depth_unit(depth_unit)
    if unit not in ("FT", "M"):
        raise ValueError(f"depth_unit must be FT or M, got {depth_unit!r}")

    seen: set[str] = {"DEPT"}
    columns = [depth]
    for curve in curves:
        mnemonic = str(curve.mnemonic).strip()
        if not mnemonic or _BAD_MNEMONIC.search(mnemonic):
            raise ValueError(f"invalid curve mnemonic {curve.mnemonic!r}")
        if mnemonic.upper() in seen:
            raise ValueError(f"duplicate or reserved curve mnemonic {mnemonic!r}")
        seen.add(mnemonic.upper())
        values = np.asarray(curve.values, dtype=np.float64)
        if values.shape != depth.shape:
            raise ValueError(
                f"curve {mnemonic}: values have shape {values.shape}, depth has {depth.shape}"
            )
        columns.append(np.where(np.isfinite(values), values, np.nan))

    items = list(well.items()) if isinstance(well, Mapping) else list(well)
    well_items: dict[str, str] = {}
    for key, value in items:
        mnemonic = str(key).strip().upper()
        if not mnemonic or _BAD_MNEMONIC.search(mnemonic):
            raise ValueError(f"invalid well item name {key!r}")
        if mnemonic in _AUTO_WELL:
            logger.warning(
                "well item %s is written from the depths; the given value is ignored", mnemonic
            )
            continue
        if mnemonic in well_items:
            raise ValueError(f"duplicate well item {mnemonic}")
        well_items[mnemonic] = _clean_text(value)

    # STRT / STOP / STEP, exact decimals.
    strt, stop = _format_number(depth[0]), _format_number(depth[-1])
    if steps.size == 0:
        step = _format_number(0.0)
    else:
        first = round(float(steps[0]), 6)
        regular = bool(np.all(np.abs(np.round(steps, 6) - first) < 1e-9))
        if not regular:
            logger.info("%s: depth is not evenly spaced; writing STEP 0", path)
        step = _format_number(first if regular else 0.0)

    las = lasio.LASFile()
    las.version["VERS"] = lasio.HeaderItem("VERS", "", 2.0, "CWLS LOG ASCII STANDARD - VERSION 2.0")
    las.version["WRAP"] = lasio.HeaderItem("WRAP", "", "NO", "ONE LINE PER DEPTH STEP")
    if "DLM" in las.version:  # a LAS 3.0 item that lasio adds by default
        del las.version["DLM"]
    header = lasio.SectionItems()
    header.append(lasio.HeaderItem("STRT", unit, strt, _WELL_DESCR["STRT"]))
    header.append(lasio.HeaderItem("STOP", unit, stop, _WELL_DESCR["STOP"]))
    header.append(lasio.HeaderItem("STEP", unit, step, _WELL_DESCR["STEP"]))
    header.append(lasio.HeaderItem("NULL", "", NULL, _WELL_DESCR["NULL"]))
    names = list(_REQUIRED_WELL) + [k for k in well_items if k not in _REQUIRED_WELL]
    for name in names:
        header.append(
            lasio.HeaderItem(name, "", well_items.get(name, ""), _WELL_DESCR.get(name, name))
        )
    las.sections["Well"] = header
    las.append_curve("DEPT", depth, unit=unit, descr="DEPTH")
    for curve, values in zip(curves, columns[1:], strict=True):
        las.append_curve(
            str(curve.mnemonic).strip(),
            values,
            unit=_clean_text(curve.unit),
            descr=_clean_text(curve.description),
        )
    other: list[str] = []
    for note in notes:
        for line in str(note).splitlines() or [""]:
            line = line.rstrip()
            if line.lstrip().startswith("~"):  # would start a new section
                line = line.replace("~", "-", 1)
            other.append(line)
    las.other = "\n".join(other)

    buffer = io.StringIO()
    with _quiet_lasio():
        las.write(
            buffer,
            version=2.0,
            wrap=False,
            STRT=strt,
            STOP=stop,
            STEP=step,
            fmt=VALUE_FORMAT,
            column_fmt={0: f"%.{_depth_decimals(depth)}f"},
        )
    text = buffer.getvalue()

    with atomic_output(Path(path), overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    logger.debug("wrote %s (%d depths, %d curves)", path, depth.size, len(curves))


# --------------------------------------------------------------------------- reading


class _Reject(Exception):
    """One read attempt failed; the message says why (one line)."""


@dataclass
class _Table:
    """What a read attempt found: curve definitions, data columns and header items."""

    names: list[str]
    units: list[str]
    descrs: list[str]
    columns: list[np.ndarray]
    well: dict[str, str]
    strt_unit: str = ""
    null: float | None = None


@contextlib.contextmanager
def _quiet_lasio() -> Iterator[None]:
    """Silence lasio's log messages and numpy/lasio warnings for the duration."""
    lasio_logger = logging.getLogger("lasio")
    old_level = lasio_logger.level
    lasio_logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                yield
    finally:
        lasio_logger.setLevel(old_level)


def _one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception message, shortened."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # lasio's LASDataError carries a traceback: its last line is the actual error.
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]
    msg = lines[0] if lines else type(exc).__name__
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return msg


def _to_float(data: object) -> np.ndarray:
    """A 1-D float64 array; entries that are not numbers become NaN."""
    try:
        return np.asarray(data, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        out = []
        for item in np.asarray(data, dtype=object).ravel():
            try:
                out.append(float(item))
            except (TypeError, ValueError):
                out.append(math.nan)
        return np.asarray(out, dtype=np.float64)


def _as_float(value: object) -> float | None:
    """``value`` as a float, or its first number, or None."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        m = re.search(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", str(value))
        return float(m.group(0)) if m else None


def _header_from_lasio(las: lasio.LASFile) -> _Table:
    """Curve definitions and ~Well items of a lasio object (columns from its data)."""
    names, units, descrs, columns = [], [], [], []
    for curve in las.curves:
        names.append(str(getattr(curve, "original_mnemonic", curve.mnemonic) or ""))
        units.append(str(curve.unit or ""))
        descrs.append(str(curve.descr or ""))
        columns.append(curve.data)
    well: dict[str, str] = {}
    strt_unit = ""
    null = None
    for item in las.well.values():
        key = re.sub(r"\s+", "", str(item.original_mnemonic or item.mnemonic)).upper()
        if key and key not in well:
            well[key] = _clean_text(item.value)
        if key == "STRT" and not strt_unit:
            strt_unit = str(item.unit or "")
        if key == "NULL" and null is None:
            null = _as_float(item.value)
    return _Table(names, units, descrs, columns, well, strt_unit, null)


def _via_lasio(text: str, **options: object) -> _Table:
    """Read with :func:`lasio.read` and these options."""
    with _quiet_lasio():
        las = lasio.read(io.StringIO(text), ignore_header_errors=True, **options)
    table = _header_from_lasio(las)
    table.columns = [_to_float(c) for c in table.columns]
    if any(not name for name in table.names):
        raise _Reject("the data section has more columns than ~Curve defines curves")
    return table


_DATA_TITLE = re.compile(r"~(A|LOG_DATA)", re.IGNORECASE)
_COMMA = re.compile(r"\s*,\s*")


def _comma_delimited(lines: list[str]) -> bool:
    """Whether most of the first data lines are comma-separated (not decimal commas)."""
    sample = lines[:50]
    if not sample:
        return False
    votes = 0
    for line in sample:
        parts = _COMMA.split(line.strip())
        if len(parts) >= 2 and not any(len(p.split()) > 1 for p in parts):
            votes += 1
    return votes > len(sample) / 2


def _split_row(line: str, comma: bool) -> list[str]:
    if comma:
        return [p.strip() for p in _COMMA.split(line.strip())]
    return line.split()


def _data_lines(text: str) -> tuple[list[str], list[str]]:
    """``(title_tokens, data_lines)`` of the first data section (repeated titles skipped)."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if _DATA_TITLE.match(line.lstrip()):
            start = i
            break
    if start is None:
        raise _Reject("no ~A (data) section")
    title = lines[start].split(None, 1)
    tokens = title[1].split() if len(title) > 1 else []
    out = []
    for line in lines[start + 1 :]:
        s = line.strip()
        if s.startswith("~"):
            if _DATA_TITLE.match(s) and not out:
                continue  # a repeated ~A title line
            break
        if s and not s.startswith("#"):
            out.append(s)
    return tokens, out


def _parse_row(tokens: list[str]) -> np.ndarray:
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        return _to_float(tokens)


def _via_own_parser(text: str) -> _Table:
    """Header with lasio (no data); data section split on whitespace, tabs or commas."""
    with _quiet_lasio():
        las = lasio.read(io.StringIO(text), ignore_header_errors=True, ignore_data=True)
    table = _header_from_lasio(las)
    k = len(table.names)
    if k == 0:
        raise _Reject("no curves defined in the ~Curve section")
    wrap = str(las.version["WRAP"].value).strip().upper() if "WRAP" in las.version else "NO"
    _, lines = _data_lines(text)
    if not lines:
        raise _Reject("the data section is empty")
    comma = _comma_delimited(lines)
    rows = [_split_row(line, comma) for line in lines]
    if wrap.startswith("Y"):
        flat = _parse_row([t for row in rows for t in row])
        if flat.size % k:
            raise _Reject(f"wrapped data has {flat.size} values, not a multiple of {k} curves")
        data = flat.reshape(-1, k)
    else:
        counts = Counter(len(r) for r in rows)
        good = [r for r in rows if len(r) == k]
        if len(good) < 0.5 * len(rows):
            common = counts.most_common(1)[0][0]
            raise _Reject(
                f"data rows have {common} values but the ~Curve section defines {k} curves"
            )
        if len(good) < len(rows):
            logger.debug("skipped %d data rows without %d values", len(rows) - len(good), k)
        data = np.vstack([_parse_row(r) for r in good])
    table.columns = [data[:, j] for j in range(k)]
    return table


_FIX_NO_COLON = re.compile(
    r"^(\s*)(VERS|WRAP|STRT|STOP|STEP|NULL|DLM)(\s*)\.(\S*)\s+(\S+)(.*)$", re.IGNORECASE
)


def _repair(text: str) -> str:
    """Fix common header faults so lasio can parse the header.

    * A VERS/WRAP/STRT/STOP/STEP/NULL/DLM line without a ``:`` gets one after its value
      (otherwise the whole rest of the line becomes the value).
    * An empty ~Curve section immediately followed by another header section title (a
      duplicated ~Well title, seen in USGS files) takes that section's lines as curves.
    """
    lines = text.splitlines()
    out: list[str] = []
    section = ""  # first letter of the current section title
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("~"):
            section = stripped[1:2].upper()
            out.append(line)
            if section == "C":
                # skip comments/blank lines of the ~C section; drop a header title after it
                j = i + 1
                while j < len(lines) and (not lines[j].strip() or lines[j].lstrip()[:1] == "#"):
                    out.append(lines[j])
                    j += 1
                if (
                    j < len(lines)
                    and lines[j].lstrip().startswith("~")
                    and lines[j].lstrip()[1:2].upper() in ("W", "V")
                ):
                    j += 1
                i = j
                continue
            i += 1
            continue
        if section in ("V", "W") and ":" not in line:
            m = _FIX_NO_COLON.match(line)
            if m:
                indent, name, space, unit, value, rest = m.groups()
                line = f"{indent}{name}{space}.{unit} {value} : {' '.join(rest.split())}"
        out.append(line)
        i += 1
    return "\n".join(out) + "\n"


def _canonical(name: str) -> str:
    n = re.sub(r"\s+", "", name).upper()
    return "DEPT" if n in DEPTH_MNEMONICS else n


def _reorder_by_title(table: _Table, tokens: list[str]) -> None:
    """If the ~A title line names the columns in another order than ~Curve, follow it."""
    k = len(table.names)
    if len(tokens) != k or k < 2:
        return
    wanted = [_canonical(t) for t in tokens]
    have = [_canonical(n) for n in table.names]
    if wanted == have or sorted(wanted) != sorted(have) or len(set(have)) != k:
        return
    order = [have.index(w) for w in wanted]
    logger.debug("~A title lists the curves in another order; following it")
    table.names = [table.names[j] for j in order]
    table.units = [table.units[j] for j in order]
    table.descrs = [table.descrs[j] for j in order]


def _depth_index(names: list[str]) -> int:
    """Column of the depth index: a DEPT/DEPTH/MD curve (the first one if it is one)."""
    canon = [_canonical(n) for n in names]
    if canon and canon[0] == "DEPT":
        return 0
    return canon.index("DEPT") if "DEPT" in canon else 0


def _finish(path: Path, table: _Table, title_tokens: list[str]) -> LasData:
    """Validate an attempt and build the :class:`LasData` (sorted, NULLs as NaN)."""
    k = len(table.names)
    if k == 0 or len(table.columns) != k:
        raise _Reject("no curves")
    n = len(table.columns[0])
    if n == 0:
        raise _Reject("no data rows")
    if any(len(c) != n for c in table.columns):
        raise _Reject("curves have different lengths")
    _reorder_by_title(table, title_tokens)
    j_depth = _depth_index(table.names)
    depth = np.asarray(table.columns[j_depth], dtype=np.float64).copy()
    depth[~np.isfinite(depth)] = np.nan
    depth[depth == NULL] = np.nan
    if table.null is not None and abs(table.null) >= 999:  # not a NULL of 0 (seen in files)
        depth[depth == table.null] = np.nan
    finite = np.isfinite(depth)
    if not finite.any():
        raise _Reject(f"the depth curve {table.names[j_depth]} has no values")
    diffs = np.diff(depth[finite])
    diffs = diffs[diffs != 0]
    if diffs.size >= 2:
        dominant = max(int((diffs > 0).sum()), int((diffs < 0).sum()))
        if dominant < 0.9 * diffs.size:
            raise _Reject(f"the depth curve {table.names[j_depth]} is not monotonic")
    order = np.argsort(depth[finite], kind="stable")
    rows = np.flatnonzero(finite)[order]
    depth_sorted = depth[rows]
    keep = np.concatenate(([True], np.diff(depth_sorted) > 0))
    rows = rows[keep]
    if rows.size < n:
        logger.debug("%s: dropped %d rows without a new depth", path, n - rows.size)

    nulls = [NULL] + ([table.null] if table.null is not None else [])
    curves: dict[str, LasCurve] = {}
    for j, name in enumerate(table.names):
        if j == j_depth:
            continue
        values = np.asarray(table.columns[j], dtype=np.float64)[rows]
        bad = ~np.isfinite(values)
        for null in nulls:
            bad |= np.abs(values - null) <= 1e-9 * max(1.0, abs(null))
        values = np.where(bad, np.nan, values)
        base = re.sub(r"\s+", "", name).upper() or f"CURVE{j}"
        key, suffix = base, 2
        while key in curves:
            key, suffix = f"{base}:{suffix}", suffix + 1
        curves[key] = LasCurve(
            mnemonic=key,
            unit=table.units[j].strip(),
            values=values,
            description=table.descrs[j].strip(),
        )
    unit = table.units[j_depth].strip() or table.strt_unit.strip()
    return LasData(
        path=path,
        depth=depth[rows],
        depth_unit=normalize_depth_unit(unit),
        curves=curves,
        well=dict(table.well),
    )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_las(path: str | Path) -> LasData:
    """Read a LAS file (1.2, 2.0 or simple 3.0), tolerating common faults.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    LasData
        Depth sorted increasing without repeats, curves with NaN for NULL values.

    Notes
    -----
    Attempts, in order, until one gives a plausible result (a depth curve with values
    that is monotonic, apart from < 10 % glitches):

    1. :func:`lasio.read` with ``ignore_header_errors=True``; then with
       ``engine="normal", null_policy="common"``; then ``engine="normal",
       read_policy=()``.
    2. The same after repairing the header text (see ``_repair``).
    3. lasio for the header only, and a data parser that splits on whitespace and tabs,
       or on commas, skips rows with the wrong number of values and unwraps wrapped
       files. Comma-separated data (detected from its first lines) goes straight here.

    The depth index is a curve named DEPT, DEPTH or MD (else the first curve). If the
    ~A title line lists the curve names in another order than ~Curve, that order is
    used. Values equal to the file's NULL or to -999.25 become NaN. Rows are sorted by
    depth (files logged upwards), rows without depth and repeated depths are dropped.

    Raises
    ------
    LasReadError
        The file cannot be read or no attempt succeeds; the message is one line naming
        the file and the problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise LasReadError(f"{path}: is a folder, not a LAS file") from None
    except OSError as exc:
        raise LasReadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise LasReadError(f"{path}: empty file")
    if raw.startswith(b"LASF"):
        raise LasReadError(f"{path}: a LiDAR LAS file, not a well log")
    if b"\x00" in raw[:4096]:
        raise LasReadError(f"{path}: binary file, not a LAS text file")
    text = _decode(raw).replace("\r\n", "\n").replace("\r", "\n")
    if not re.search(r"^\s*~", text, re.MULTILINE):
        raise LasReadError(f"{path}: no ~ sections; not a LAS file")

    repaired = _repair(text)
    try:
        title_tokens, data_lines = _data_lines(repaired)
    except _Reject:
        raise LasReadError(f"{path}: no ~A (data) section") from None

    attempts: list[tuple[str, object]] = []
    if not _comma_delimited(data_lines):  # lasio is slow and wrong on comma-separated data
        lasio_options: list[dict[str, object]] = [
            {},
            {"engine": "normal", "null_policy": "common"},
            {"engine": "normal", "read_policy": ()},
        ]
        attempts += [("lasio", (text, o)) for o in lasio_options]
        if repaired != text:
            attempts += [("lasio", (repaired, o)) for o in lasio_options]
    attempts.append(("own", repaired))

    problems: list[str] = []
    for kind, arg in attempts:
        try:
            if kind == "lasio":
                source, options = arg  # type: ignore[misc]
                table = _via_lasio(source, **options)
            else:
                table = _via_own_parser(arg)  # type: ignore[arg-type]
            data = _finish(path, table, title_tokens)
        except Exception as exc:  # noqa: BLE001 - any failure of an attempt: try the next
            problems.append(_one_line(exc))
            logger.debug("%s: read attempt failed: %s", path, problems[-1])
            continue
        if problems:
            logger.debug("%s: read after %d failed attempts", path, len(problems))
        return data
    # The last attempt (our own parser) gives the most specific message.
    raise LasReadError(f"{path}: cannot read LAS data ({problems[-1]})")

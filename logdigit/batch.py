"""Convert a folder tree of scans: resumable, parallel, on one machine or a Dask cluster.

The pieces, each usable on its own:

* :func:`discover` finds the scans under IN_DIR and gives each a :class:`Job` (scan, layout,
  output paths mirrored under OUT_DIR, reference LAS for the gate).
* :func:`convert_one` converts one job and returns a JSON-ready record. It never raises
  (except KeyboardInterrupt): every problem becomes a ``"failed"`` record with a reason. It
  is the task sent to local worker processes and to Dask workers.
* :func:`run_batch` ties them together: skips finished scans, runs the rest in parallel,
  appends one line per finished scan to ``OUT_DIR/manifest.jsonl`` and returns a
  :class:`Summary`.

Layouts
-------
For each scan, in order: its sidecar (``scan.tif`` -> ``scan.toml``); else the nearest
``logdigit.toml`` in the scan's folder or a parent folder, up to IN_DIR (never above); else
the ``layout`` given for the whole batch (``--layout``). The most specific file wins, so
``--layout`` is a default for scans that have no layout of their own. A scan with no layout
at all is a failed job with that reason; the others still run.

Outputs
-------
``IN_DIR/a/b/scan 1.tif`` -> ``OUT_DIR/a/b/scan 1.las`` (and ``scan 1.png`` with overlays).
When several scans of a folder share a stem (``x.tif`` and ``x.png``), each of them is
written as its full name plus ``.las`` (``x.tif.las``, ``x.png.las``) instead. Hidden files
and folders (names starting with ``.``) are ignored, and so is OUT_DIR when it lies inside
IN_DIR.

Resuming
--------
Outputs are written atomically (temp file + rename), so an existing output is complete. A
job whose LAS (and, with overlays, overlay PNG) exists is skipped unless ``force``. At start,
stale temp files (``.NAME.las.XXXXXXXX.part``) that a killed run left in OUT_DIR are
deleted; a lock file (``OUT_DIR/.logdigit-batch.lock``) keeps two batches from writing to the
same OUT_DIR at once.

Manifest
--------
``OUT_DIR/manifest.jsonl``: one JSON object per line, appended (flushed and fsynced) as each
scan finishes, so a SIGKILL loses at most the scans in flight. A rerun appends; the newest
record of a scan wins (:func:`read_manifest`). Keys: ``scan`` (path relative to IN_DIR),
``output`` (relative to OUT_DIR), ``status`` (``ok``, ``failed``, ``skipped``), ``curves``
(mnemonics), ``coverage`` (mnemonic -> fraction of depths with a value), ``seconds``,
``error`` (reason, empty when ok), ``layout`` (the layout file used), ``overlay`` (with
overlays), ``finished`` (UTC time), ``host``; with a gate: ``gate`` (``passed``, ``failed`` or
``no-reference``), ``gate_r2`` (mnemonic -> R²) and ``gate_reason``. A skipped scan's record
carries the curves and coverage of its previous record.

Gate
----
With ``gate_dir``, a scan ``a/b/scan.tif`` is checked against ``gate_dir/a/b/scan.las`` when it
exists (:func:`logdigit.check.check_curves` with ``min_r2`` and ``min_coverage``); skipped
scans are re-checked. A failed gate leaves the scan's status ``ok`` (its LAS is kept) but
records ``gate: "failed"`` and makes :attr:`Summary.ok` false (exit code 4).

Workers and the model
---------------------
``workers=1`` converts in this process. More workers are ``spawn``-ed processes
(:class:`concurrent.futures.ProcessPoolExecutor`), each with ``cores // workers``
threads; at most ``2 * workers`` jobs are submitted at a time, so memory stays bounded for
any number of scans. A worker process that dies (e.g. killed by the OOM killer) fails the
jobs in flight and the pool is restarted for the rest. With ``scheduler`` the same tasks go
to a Dask distributed cluster (same window of twice the cluster's threads, same manifest);
the workers need logdigit installed and IN_DIR, OUT_DIR (and a model given as a path) under
the same absolute paths, e.g. on a shared file system.

Each process loads the model once: :func:`get_model` keeps a per-process cache keyed by
``(model, device)`` in the module-level dict ``_MODELS`` (guarded by a lock, for Dask workers
with several threads, which then share one model in eval mode).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .allocator import keep_freed_memory
from .errors import EXIT_BATCH_FAILURES, EXIT_OK, LogdigitError, OutputError, UsageError
from .layout import LAYOUT_FILENAME
from .scanio import SUFFIXES

__all__ = [
    "MANIFEST_NAME",
    "BatchProgress",
    "Gate",
    "Job",
    "Summary",
    "clean_stale_parts",
    "convert_one",
    "discover",
    "failed_record",
    "get_model",
    "parse_scheduler",
    "read_manifest",
    "run_batch",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
LOCK_NAME = ".logdigit-batch.lock"
WORKER_DIED = ("the worker process died while converting this scan (killed, or out of "
               "memory?)")
# the temp files of logdigit.outputs.atomic_output: tempfile.mkstemp(prefix=".NAME.",
# suffix=".part") with 8 random characters
_STALE_PART = re.compile(r"^\..+\.(las|png)\.[a-z0-9_]{8}\.part$")
_DEVICE_SPEC = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One scan to convert (picklable: it is sent to worker processes and Dask workers).

    Attributes
    ----------
    scan : Path
        The scan file (absolute).
    rel : str
        Its path relative to IN_DIR, with ``/``: the manifest key.
    output : Path
        The LAS file to write (absolute).
    out_rel : str
        ``output`` relative to OUT_DIR.
    overlay : Path
        Where the QC overlay PNG goes when overlays are asked for.
    layout : Path or None
        The layout file (see the module docstring for the order); None with ``error``.
    reference : Path or None
        The reference LAS for the gate, when one exists.
    error : str
        Why the job cannot run (no layout, output name clash); empty when it can.
    clash : bool
        Its output is the output of an earlier scan: it never runs.
    """

    scan: Path
    rel: str
    output: Path
    out_rel: str
    overlay: Path
    layout: Path | None
    reference: Path | None = None
    error: str = ""
    clash: bool = False


@dataclass(frozen=True)
class Gate:
    """Thresholds of the acceptance gate (as ``logdigit check``)."""

    min_r2: float = 0.95
    min_coverage: float = 0.9


def _is_scan(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in SUFFIXES


def _walk(in_dir: Path, exclude: Path | None) -> Iterator[tuple[Path, list[str], Path | None]]:
    """(folder, file names, nearest logdigit.toml) for every folder, hidden ones pruned."""
    nearest: dict[str, Path | None] = {}

    def on_error(exc: OSError) -> None:
        logger.warning("%s: cannot list the folder (%s); its scans are not converted",
                       exc.filename, exc.strerror or exc)

    for dirpath, dirnames, filenames in os.walk(in_dir, onerror=on_error):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and (exclude is None or here / d != exclude)
        )
        parent = nearest.get(os.path.dirname(dirpath)) if here != in_dir else None
        own = here / LAYOUT_FILENAME if LAYOUT_FILENAME in filenames else None
        nearest[dirpath] = own or parent
        yield here, filenames, nearest[dirpath]


def discover(
    in_dir: Path | str,
    *,
    layout: Path | str | None = None,
    out_dir: Path | str | None = None,
    gate_dir: Path | str | None = None,
) -> list[Job]:
    """Find every scan under ``in_dir`` and plan its conversion.

    Parameters
    ----------
    in_dir : Path
        Folder searched recursively for ``.tif .tiff .png .jpg .jpeg`` files (any case).
    layout : Path, optional
        The layout of scans that have neither a sidecar nor a ``logdigit.toml`` in their
        folder or a parent folder up to ``in_dir``.
    out_dir : Path, optional
        Where outputs go, mirroring the folders under ``in_dir``; default ``in_dir`` (next
        to the scans). Ignored by the search when it lies inside ``in_dir``.
    gate_dir : Path, optional
        Reference LAS files, mirroring ``in_dir``: ``gate_dir/REL_FOLDER/STEM.las``.

    Returns
    -------
    list of Job
        Sorted by relative path. Scans without a layout have ``error`` set.

    Raises
    ------
    UsageError
        ``in_dir`` is not a folder.
    """
    in_dir = Path(in_dir).expanduser().resolve()
    if not in_dir.is_dir():
        raise UsageError(f"{in_dir}: input folder does not exist" if not in_dir.exists()
                         else f"{in_dir}: is not a folder")
    out_dir = in_dir if out_dir is None else Path(out_dir).expanduser().resolve()
    gate_dir = Path(gate_dir).expanduser().resolve() if gate_dir is not None else None
    explicit = Path(layout).expanduser().resolve() if layout is not None else None
    exclude = out_dir if out_dir != in_dir and out_dir.is_relative_to(in_dir) else None

    found: list[tuple[str, Path, Path | None]] = []  # (rel, scan, layout)
    for folder, names, folder_layout in _walk(in_dir, exclude):
        name_set = set(names)
        for name in names:
            if not _is_scan(name):
                continue
            scan = folder / name
            sidecar = f"{os.path.splitext(name)[0]}.toml"
            lay = folder / sidecar if sidecar in name_set else (folder_layout or explicit)
            found.append((scan.relative_to(in_dir).as_posix(), scan, lay))
    found.sort(key=lambda t: t[0])

    # outputs: REL_FOLDER/STEM.las, or REL_FOLDER/NAME.las when stems clash in a folder
    def out_rel(rel: str, full: bool) -> str:
        p = Path(rel)
        return (p.parent / (p.name if full else p.stem)).as_posix() + ".las"

    by_stem: dict[str, list[str]] = {}
    for rel, _, _ in found:
        by_stem.setdefault(out_rel(rel, False), []).append(rel)
    clashing = {r for rels in by_stem.values() if len(rels) > 1 for r in rels}
    claimed: dict[str, str] = {}
    jobs = []
    for rel, scan, lay in found:
        o_rel = out_rel(rel, rel in clashing)
        error = ""
        clash = o_rel in claimed
        if clash:
            error = (f"{scan}: its output {o_rel} is also the output of {claimed[o_rel]}; "
                     "rename one of the scans")
        else:
            claimed[o_rel] = rel
        if lay is None and not error:
            error = (f"{scan}: no layout found (looked for {scan.with_suffix('.toml').name} "
                     f"next to it and {LAYOUT_FILENAME} in its folder and the parent folders "
                     "up to the input folder; no --layout given)")
        output = out_dir / o_rel
        reference = None
        if gate_dir is not None:
            ref = gate_dir / Path(rel).parent / f"{Path(rel).stem}.las"
            reference = ref if ref.is_file() else None
        jobs.append(Job(scan=scan, rel=rel, output=output, out_rel=o_rel,
                        overlay=output.with_suffix(".png"), layout=lay, reference=reference,
                        error=error, clash=clash))
    return jobs


# --------------------------------------------------------------------------- one scan

_MODELS: dict[tuple[str | None, str], tuple] = {}
_MODELS_LOCK = threading.Lock()


def get_model(model_spec: str | None, device: str = "auto"):
    """``(model, config, device)``, loaded once per process and cached.

    The cache is the module-level dict ``_MODELS`` keyed by ``(model_spec, device)``: a
    worker process (local pool or Dask worker) loads the model on its first scan and reuses
    it for every later one.

    Raises
    ------
    ModelError, UsageError
        From :func:`logdigit.network.load_network`.
    """
    key = (model_spec, device)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from .network import load_network

            net, config, dev = load_network(model_spec, device=device)
            _MODELS[key] = (net, config, dev)
            logger.debug("process %d: loaded model %s on %s", os.getpid(),
                         config.get("path"), dev)
        return _MODELS[key]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base_record(job: Job, status: str, *, error: str = "", seconds: float = 0.0) -> dict:
    return {
        "scan": job.rel,
        "output": job.out_rel,
        "status": status,
        "curves": [],
        "coverage": {},
        "seconds": round(seconds, 3),
        "error": " ".join(error.split()),
        "layout": str(job.layout) if job.layout is not None else None,
        "finished": _now(),
        "host": socket.gethostname(),
    }


def failed_record(job: Job, reason: str, *, seconds: float = 0.0) -> dict:
    """The record of a job that failed with ``reason``."""
    return _base_record(job, "failed", error=reason, seconds=seconds)


def _gate_fields(output: Path, job: Job, gate: Gate) -> dict:
    """``gate``, ``gate_r2`` and ``gate_reason`` for a finished output."""
    if job.reference is None:
        return {"gate": "no-reference", "gate_r2": {}, "gate_reason": ""}
    from .check import check_curves
    from .lasfile import read_las

    try:
        results = check_curves(read_las(output), read_las(job.reference),
                               min_r2=gate.min_r2, min_coverage=gate.min_coverage)
    except LogdigitError as exc:
        return {"gate": "failed", "gate_r2": {}, "gate_reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a task never raises
        return {"gate": "failed", "gate_r2": {},
                "gate_reason": f"internal error: {type(exc).__name__}: {exc}"}
    failed = [r for r in results if not r.passed]
    return {
        "gate": "failed" if failed else "passed",
        "gate_r2": {r.mnemonic: r.as_dict()["r2"] for r in results},
        "gate_reason": "; ".join(f"{r.mnemonic}: {r.reason}" for r in failed),
    }


def convert_one(
    job: Job,
    *,
    model_spec: str | None = None,
    device: str = "auto",
    overwrite: bool = False,
    overlay: bool = False,
    gate: Gate | None = None,
    deskew: bool = True,
    flip_average: bool | None = None,
) -> dict:
    """Convert one scan; return its manifest record. Never raises (but KeyboardInterrupt).

    ``flip_average`` overrides the model config's (:func:`logdigit.segment.flip_average`);
    None keeps it.

    The model comes from :func:`get_model` (loaded once per process). A
    :class:`~logdigit.errors.LogdigitError` gives ``error = str(exc)``; any other exception
    ``"internal error: TYPE: MESSAGE"``. With ``gate`` the finished LAS is checked against
    ``job.reference`` (see the module docstring).
    """
    t0 = time.perf_counter()
    if job.error:
        return failed_record(job, job.error)
    try:
        from .convert import convert_file
        from .segment import with_flip_average

        net, config, dev = get_model(model_spec, device)
        config = with_flip_average(config, flip_average)
        try:
            job.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{job.output.parent}: cannot create the folder "
                              f"({exc.strerror or exc})") from None
        result = convert_file(job.scan, job.output, model=net, config=config,
                              layout_path=job.layout, device=dev,
                              overlay=job.overlay if overlay else None, overwrite=overwrite,
                              deskew=deskew)
    except LogdigitError as exc:
        return failed_record(job, str(exc), seconds=time.perf_counter() - t0)
    except MemoryError:
        return failed_record(job, f"{job.scan}: out of memory",
                             seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a task never raises
        logger.debug("%s: internal error", job.scan, exc_info=True)
        return failed_record(job, f"internal error: {type(exc).__name__}: {exc}",
                             seconds=time.perf_counter() - t0)
    rec = _base_record(job, "ok")
    rec["curves"] = [c.curve.mnemonic for c in result.curves]
    rec["coverage"] = {c.curve.mnemonic: round(c.coverage, 4) for c in result.curves}
    if result.skew:
        rec["skew_degrees"] = round(result.skew, 4)
    if overlay:
        rec["overlay"] = Path(job.out_rel).with_suffix(".png").as_posix()
    if gate is not None:
        rec.update(_gate_fields(job.output, job, gate))
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    return rec


# --------------------------------------------------------------------------- manifest


def read_manifest(path: Path | str) -> dict[str, dict]:
    """The newest record of each scan in a manifest (``{}`` when there is none).

    Lines that are not JSON objects with a ``scan`` key (e.g. a line cut short by a kill)
    are ignored.
    """
    records: dict[str, dict] = {}
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records
    with fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("scan"), str):
                records[rec["scan"]] = rec
    return records


class _Manifest:
    """Append-only JSON lines, flushed and fsynced per record (or per group)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fh = open(path, "a+b")
            size = self.fh.seek(0, os.SEEK_END)
            if size:  # end a line cut short by a kill, so the next record parses
                self.fh.seek(size - 1)
                if self.fh.read(1) != b"\n":
                    self.fh.write(b"\n")
        except OSError as exc:
            raise OutputError(f"{path}: cannot write the manifest ({exc.strerror or exc})"
                              ) from None

    def append(self, record: dict, *, sync: bool = True) -> None:
        self.fh.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        if sync:
            self.sync()

    def sync(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sync()
        self.fh.close()


@contextlib.contextmanager
def _lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on OUT_DIR for the whole run (released even on SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = out_dir / LOCK_NAME
    try:
        fh = open(path, "a")
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the lock file ({exc.strerror or exc})"
                          ) from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"{out_dir}: another logdigit batch is writing to this folder"
                             ) from None
        yield


def clean_stale_parts(out_dir: Path) -> int:
    """Delete the temp files a killed run left under ``out_dir``; return how many."""
    n = 0
    for dirpath, _dirnames, filenames in os.walk(out_dir):
        for name in filenames:
            if _STALE_PART.match(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
    if n:
        logger.info("%s: removed %d temp file(s) left by an interrupted run", out_dir, n)
    return n


# --------------------------------------------------------------------------- the run


@dataclass
class Summary:
    """What a batch did. Counts cover every scan found (skipped ones included)."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    gate_failed: int = 0
    seconds: float = 0.0
    manifest: Path | None = None
    failures: list[dict] = field(default_factory=list)  # {"scan", "error"}
    gate_failures: list[dict] = field(default_factory=list)  # {"scan", "reason"}

    @property
    def ok(self) -> bool:
        """Every scan converted or skipped, and no gate failed."""
        return self.failed == 0 and self.gate_failed == 0

    @property
    def exit_code(self) -> int:
        """0 when :attr:`ok`, else 4 (``EXIT_BATCH_FAILURES``)."""
        return EXIT_OK if self.ok else EXIT_BATCH_FAILURES

    def add(self, rec: dict) -> None:
        status = rec["status"]
        if status == "ok":
            self.done += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append({"scan": rec["scan"], "error": rec["error"]})
        if rec.get("gate") == "failed":
            self.gate_failed += 1
            self.gate_failures.append({"scan": rec["scan"], "reason": rec["gate_reason"]})

    def as_dict(self) -> dict:
        return {
            "total": self.total, "done": self.done, "skipped": self.skipped,
            "failed": self.failed, "gate_failed": self.gate_failed,
            "seconds": round(self.seconds, 3), "ok": self.ok,
            "manifest": str(self.manifest) if self.manifest else None,
            "failures": self.failures, "gate_failures": self.gate_failures,
        }


class BatchProgress:
    """Progress hooks of :func:`run_batch` (these do nothing; subclass to show a bar)."""

    def start(self, *, total: int, to_run: int) -> None:
        """Called once the finished scans are skipped: ``to_run`` jobs remain of ``total``."""

    def update(self, record: dict) -> None:
        """Called with the record of each job run, as it finishes."""


def parse_scheduler(address: str) -> str:
    """Check a Dask scheduler address: ``tcp://HOST:PORT`` (or ``tls://``; bare HOST:PORT
    means tcp). Raises UsageError."""
    text = address.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    bad = UsageError(f"--scheduler {address}: expected tcp://HOST:PORT, e.g. "
                     "tcp://10.0.0.5:8786")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None or (
            parts.path not in ("", "/") or parts.query or parts.fragment):
        raise bad
    return text.rstrip("/")


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _init_worker(model_spec: str | None, device: str, threads: int, log_level: int) -> None:
    """Initializer of a local worker process: the allocator, threads, logging, the model.

    Large freed blocks are kept for reuse (:func:`logdigit.allocator.keep_freed_memory`),
    as in the ``logdigit`` command. Workers ignore SIGINT: on Ctrl-C the parent terminates
    them (their temp files are removed by the next run).
    """
    from .segment import set_cpu_threads

    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_cpu_threads(threads)
    log = logging.getLogger("logdigit")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("logdigit: %(levelname)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(log_level)
    with contextlib.suppress(Exception):  # a model that fails to load is reported per job
        get_model(model_spec, device)


def _probe_model(model_spec: str | None, device: str) -> str:
    """Load the model on a Dask worker (and keep it cached there); return its folder."""
    return str(get_model(model_spec, device)[1].get("path"))


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what is queued, terminate the workers."""
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()


def _run_local(jobs: list[Job], *, workers: int, task: dict, redo: set[str], emit) -> None:
    """Run jobs in this process (one worker) or in a spawned process pool.

    ``task`` holds the keyword arguments of :func:`convert_one`; jobs whose ``rel`` is in
    ``redo`` run with ``overwrite=True``.
    """
    def kwargs(job: Job) -> dict:
        return dict(task, overwrite=job.rel in redo)

    n = min(workers, len(jobs))
    if n <= 1:
        for job in jobs:
            emit(convert_one(job, **kwargs(job)))
        return
    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger("logdigit").getEffectiveLevel()
    window = 2 * n
    queue = deque(jobs)
    while queue:
        pool = ProcessPoolExecutor(
            max_workers=n, mp_context=ctx, initializer=_init_worker,
            initargs=(task["model_spec"], task["device"], _threads_per_worker(n), level))
        inflight: dict = {}
        broken = False
        try:
            while (queue and not broken) or inflight:
                while queue and not broken and len(inflight) < window:
                    job = queue.popleft()
                    try:
                        inflight[pool.submit(convert_one, job, **kwargs(job))] = job
                    except BrokenProcessPool:
                        queue.appendleft(job)
                        broken = True
                if not inflight:
                    break
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = inflight.pop(fut)
                    try:
                        rec = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        rec = failed_record(job, WORKER_DIED)
                    except Exception as exc:  # noqa: BLE001 - e.g. a pickling error
                        rec = failed_record(job, f"internal error: {type(exc).__name__}: "
                                                 f"{exc}")
                    emit(rec)
            if broken and queue:
                logger.warning("a worker process died; restarting the workers for the %d "
                               "remaining scans", len(queue))
        except BaseException:
            _kill_pool(pool)
            raise
        pool.shutdown(wait=True)


def _run_dask(jobs: list[Job], *, scheduler: str, task: dict, redo: set[str], emit,
              connect_timeout: float) -> None:
    """Run jobs on a Dask distributed cluster, at most twice its threads in flight."""
    from dask.distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot connect to the Dask scheduler "
                         f"({type(exc).__name__}: {exc})") from None
    with client:
        def window() -> int:
            try:
                return 2 * max(1, sum(client.nthreads().values()))
            except Exception:  # noqa: BLE001 - keep going with a small window
                return 2

        # fail fast (ModelError, UsageError) when the model cannot load on a worker
        folder = client.submit(_probe_model, task["model_spec"], task["device"],
                               pure=False).result()
        logger.info("Dask scheduler %s: model %s loads on the workers", scheduler, folder)
        queue = deque(jobs)
        inflight: dict = {}  # future key -> (future, job)
        ac = as_completed(loop=client.loop)

        def submit(job: Job) -> None:
            fut = client.submit(convert_one, job, pure=False,
                                **dict(task, overwrite=job.rel in redo))
            inflight[fut.key] = (fut, job)
            ac.add(fut)

        try:
            size = window()
            while queue and len(inflight) < size:
                submit(queue.popleft())
            for fut in ac:
                _, job = inflight.pop(fut.key)
                try:
                    rec = fut.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection, ...
                    rec = failed_record(job, f"dask: {type(exc).__name__}: {exc}")
                fut.release()
                emit(rec)
                if queue:
                    size = window()
                while queue and len(inflight) < size:
                    submit(queue.popleft())
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel([f for f, _ in inflight.values()])
            raise


def _check_layout_arg(layout: Path | str | None) -> Path | None:
    if layout is None:
        return None
    from .layout import load_layout

    path = Path(layout).expanduser()
    if not path.exists():
        raise UsageError(f"{path}: --layout file not found")
    if path.is_dir():
        raise UsageError(f"{path}: --layout is a folder, expected a layout TOML file")
    load_layout(path)  # an invalid layout is a LayoutError now, not one per scan
    return path.resolve()


def _complete(job: Job, overlays: bool) -> bool:
    return job.output.is_file() and (not overlays or job.overlay.is_file())


def run_batch(
    in_dir: Path | str,
    out_dir: Path | str,
    *,
    workers: int | None = None,
    layout: Path | str | None = None,
    model: str | None = None,
    device: str = "auto",
    force: bool = False,
    overlays: bool = False,
    gate_dir: Path | str | None = None,
    min_r2: float = 0.95,
    min_coverage: float = 0.9,
    scheduler: str | None = None,
    progress: BatchProgress | None = None,
    connect_timeout: float = 30.0,
    deskew: bool = True,
    flip_average: bool | None = None,
) -> Summary:
    """Convert every scan under ``in_dir`` into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the number of cores); 1 converts in this
        process. Ignored with ``scheduler``: the cluster's threads set the parallelism.
    layout : Path, optional
        Layout of scans without a sidecar or a ``logdigit.toml`` (checked now).
    model, device :
        As for ``logdigit convert``: a model name or folder, ``auto``/``cpu``/``cuda``.
    force : bool
        Convert again scans whose outputs exist (replacing them).
    overlays : bool
        Also write a QC overlay PNG next to each LAS.
    gate_dir, min_r2, min_coverage :
        The acceptance gate against ``gate_dir/REL_FOLDER/STEM.las``.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask distributed scheduler to run the tasks on.
    progress : BatchProgress, optional
        Hooks called as the batch advances.
    deskew : bool
        Measure and remove the skew of each scan before segmenting it.
    flip_average : bool, optional
        Override the model's ``flip_average`` (None: keep it).

    Returns
    -------
    Summary
        Counts over every scan found; :attr:`Summary.ok` is false when a scan failed or a
        gate failed.

    Raises
    ------
    UsageError
        ``in_dir`` is not a folder, ``out_dir`` is a file, ``workers < 1``, a bad scheduler
        address or one that does not answer, a bad device, ``gate_dir`` is not a folder,
        overlays asked with ``out_dir == in_dir``, or another batch holds ``out_dir``.
    LayoutError
        ``layout`` is invalid.
    ModelError
        The model cannot be loaded.
    OutputError
        ``out_dir`` or the manifest cannot be written.
    """
    t0 = time.perf_counter()
    progress = progress or BatchProgress()
    in_path = Path(in_dir).expanduser()
    if not in_path.is_dir():
        raise UsageError(f"{in_path}: input folder does not exist" if not in_path.exists()
                         else f"{in_path}: input is not a folder")
    in_path = in_path.resolve()
    out_path = Path(out_dir).expanduser()
    if out_path.exists() and not out_path.is_dir():
        raise UsageError(f"{out_path}: -o must be a folder, and this is a file")
    out_path = out_path.resolve()
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"--workers {workers}: must be 1 or more")
    if scheduler is not None:
        scheduler = parse_scheduler(scheduler)
    if not _DEVICE_SPEC.match(str(device).lower()):
        raise UsageError(f"--device {device}: expected auto, cpu or cuda")
    device = str(device).lower()
    if gate_dir is not None:
        gate_dir = Path(gate_dir).expanduser()
        if not gate_dir.is_dir():
            raise UsageError(f"{gate_dir}: --gate reference folder does not exist")
    for name, value in (("--min-r2", min_r2), ("--min-coverage", min_coverage)):
        if not math.isfinite(value) or value > 1:
            raise UsageError(f"{name} {value}: must be a number up to 1")
    if overlays and out_path == in_path:
        raise UsageError(f"{out_path}: with --overlays the output folder must differ from the "
                         "input folder (the overlay PNGs would be taken for scans)")
    layout_path = _check_layout_arg(layout)
    model_spec = None if model is None else str(model)
    if model_spec is not None and Path(model_spec).expanduser().exists():
        model_spec = str(Path(model_spec).expanduser().resolve())
    if scheduler is None:
        from .network import check_device

        check_device(device)  # UsageError for cuda on a machine without one

    try:
        out_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot create the output folder "
                          f"({exc.strerror or exc})") from None
    summary = Summary(manifest=out_path / MANIFEST_NAME)
    with _lock(out_path):
        clean_stale_parts(out_path)
        jobs = discover(in_path, layout=layout_path, out_dir=out_path, gate_dir=gate_dir)
        summary.total = len(jobs)
        previous = read_manifest(summary.manifest)
        gate = Gate(min_r2=min_r2, min_coverage=min_coverage) if gate_dir is not None else None
        manifest = _Manifest(summary.manifest)
        try:
            to_run: list[Job] = []
            for job in jobs:
                if job.clash:
                    rec = failed_record(job, job.error)
                elif not force and _complete(job, overlays):
                    rec = _skipped_record(job, previous.get(job.rel), overlays, gate)
                elif job.error:
                    rec = failed_record(job, job.error)
                else:
                    to_run.append(job)
                    continue
                manifest.append(rec, sync=False)
                summary.add(rec)
                _log_record(rec)
            manifest.sync()
            logger.info("%d scans found: %d to convert, %d skipped, %d that cannot run",
                        len(jobs), len(to_run), summary.skipped, summary.failed)
            if to_run and scheduler is None and (model_spec, device) not in _MODELS:
                # a model that cannot load is a ModelError now, not a failure per scan
                if workers == 1 or len(to_run) == 1:
                    get_model(model_spec, device)  # and it stays loaded for the run
                else:
                    from .network import load_network

                    load_network(model_spec, device="cpu")
            progress.start(total=len(jobs), to_run=len(to_run))

            def emit(rec: dict) -> None:
                manifest.append(rec)
                summary.add(rec)
                _log_record(rec)
                progress.update(rec)

            # forced jobs, and jobs with an output but a missing overlay, replace their files
            redo = {j.rel for j in to_run
                    if force or j.output.exists() or (overlays and j.overlay.exists())}
            task = dict(model_spec=model_spec, device=device, overlay=overlays, gate=gate,
                        deskew=deskew, flip_average=flip_average)
            if scheduler is not None:
                _run_dask(to_run, scheduler=scheduler, task=task, redo=redo, emit=emit,
                          connect_timeout=connect_timeout)
            else:
                _run_local(to_run, workers=workers, task=task, redo=redo, emit=emit)
        finally:
            manifest.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _skipped_record(job: Job, prev: dict | None, overlays: bool, gate: Gate | None) -> dict:
    rec = _base_record(job, "skipped")
    if prev and prev.get("status") in ("ok", "skipped") and prev.get("output") == job.out_rel:
        rec["curves"] = list(prev.get("curves") or [])
        rec["coverage"] = dict(prev.get("coverage") or {})
    if overlays:
        rec["overlay"] = Path(job.out_rel).with_suffix(".png").as_posix()
    if gate is not None:
        rec.update(_gate_fields(job.output, job, gate))
    return rec


def _log_record(rec: dict) -> None:
    if rec["status"] == "failed":
        logger.warning("%s: failed: %s", rec["scan"], rec["error"])
    elif rec["status"] == "ok":
        logger.info("%s: converted in %.1f s", rec["scan"], rec["seconds"])
    if rec.get("gate") == "failed":
        logger.warning("%s: gate failed: %s", rec["scan"], rec["gate_reason"])

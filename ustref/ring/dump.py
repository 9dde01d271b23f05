"""``ustref ring dump SHM_PATH -o TRACE_DIR``: post-mortem recovery of ``--shm-path`` buffers.

The pure-Python counterpart of ``lttng-crash -x`` (src/bin/lttng-crash/lttng-crash.c
@ lttng-tools v2.13.9: ``extract_trace_recursive()``, ``copy_crash_data()``,
``copy_crash_subbuf()``): walk the ``--shm-path`` tree of a session whose app,
session daemon and consumer may all be dead, copy each trace directory's
``metadata`` file, and for every stream file write, from the consumed to the
produced position, each sub-buffer the writer fully or partly committed
(known from the commit-counter ``seq`` kept for crash consistency,
``RING_BUFFER_OOPS_CONSISTENCY``). A partly committed sub-buffer gets its
``content_size``/``packet_size`` patched to what was committed, as
lttng-crash does, so ``babeltrace2`` reads the result as a CTF trace.

Stream files are mapped copy-on-write and read through the truncation-safe
:class:`~ustref.ring.shm.ShmMapping`; an inconsistent file raises
:class:`~ustref.errors.LayoutError` naming it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ustref.errors import LayoutError, UstrefError
from ustref.ids import U64_MAX
from ustref.ring import layout
from ustref.ring.crash import CrashRecord, read_crash_record
from ustref.ring.shm import ShmMapping

METADATA_NAME = "metadata"
PROGRESS_THRESHOLD = 1 << 20  # show a bar from 1 MiB of buffers on


@dataclass(frozen=True, slots=True)
class Packet:
    """One recovered packet: where it lies in the stream file and how much of it to write."""

    subbuf_index: int
    file_offset: int
    size: int
    #: ``content_size``/``packet_size`` (bits) to patch in, for a partly committed packet
    patch_bits: int | None


def _field(mapping: ShmMapping, offset: int, length: int) -> int:
    if length == 8:
        return mapping.read_u64(offset)
    if length == 4:
        return mapping.read_u32(offset)
    if length == 2:
        return mapping.read_u16(offset)
    if length == 1:
        return mapping.read_u8(offset)
    raise LayoutError(f"crash ABI field length {length} is not 1, 2, 4 or 8", source=mapping.source)


def crash_packets(mapping: ShmMapping, record: CrashRecord | None = None) -> Iterator[Packet]:
    """The packets ``lttng-crash`` would extract from one stream file, in order."""
    rec = record or read_crash_record(mapping)
    geo = rec.geometry
    prod = mapping.read_u64(layout.RingBuffer.offset.offset)
    consumed_cur = mapping.read_u64(layout.RingBuffer.consumed.offset)
    hot_stride = layout.c_sizeof(layout.CommitCountersHot)
    seq_off = layout.CommitCountersHot.seq.offset
    pages_shmp_off = layout.field_offset(layout.BackendPagesShmp, "shmp._ref.offset")
    p_off = layout.field_offset(layout.BackendPages, "p._ref.offset")
    offset = consumed_cur
    while offset < prod:
        sbidx = geo.subbuf_index(offset)
        seq_cc = mapping.read_u64(rec.commit_hot_array + sbidx * hot_stride + seq_off)
        if (geo.subbuf_trunc(offset) - geo.subbuf_trunc(consumed_cur)) & U64_MAX & (1 << 63):
            return
        if ((seq_cc - geo.subbuf_size) & geo.commit_count_mask) == (
            geo.buf_trunc(offset) // geo.num_subbuf
        ):
            committed = geo.subbuf_size
        else:
            committed = geo.subbuf_offset(seq_cc)
            if not committed:
                return
        sb_id = mapping.read_u64(
            rec.buf_wsb_array + sbidx * layout.c_sizeof(layout.BackendSubbuffer)
        )
        bindex = sb_id & layout.SB_ID_INDEX_MASK if geo.overwrite else sb_id
        if bindex >= geo.num_subbuf_alloc:
            raise LayoutError(
                f"sub-buffer {sbidx}: id {sb_id:#x} names backend pages {bindex}, "
                f"beyond the {geo.num_subbuf_alloc} allocated",
                source=mapping.source,
            )
        rpages = mapping.read_u64(
            rec.sb_array + bindex * layout.c_sizeof(layout.BackendPagesShmp) + pages_shmp_off
        )
        if rpages + layout.c_sizeof(layout.BackendPages) > mapping.size:
            raise LayoutError(
                f"backend pages {bindex} at {rpages:#x} lie outside the file",
                source=mapping.source,
            )
        data = mapping.read_u64(rpages + p_off)
        if committed == geo.subbuf_size:
            patch: int | None = None
            if rec.packet_size_length:
                size = _field(mapping, data + rec.packet_size_offset, rec.packet_size_length) // 8
            else:
                size = geo.subbuf_size
        else:
            patch = committed * 8
            size = committed
        if size > geo.subbuf_size or data + size > mapping.size:
            raise LayoutError(
                f"sub-buffer {sbidx}: packet of {size} bytes at {data:#x} does not fit "
                f"a {geo.subbuf_size}-byte sub-buffer of the {mapping.size}-byte file",
                source=mapping.source,
            )
        yield Packet(sbidx, data, size, patch)
        offset += geo.subbuf_size


def extract_stream(mapping: ShmMapping, out_path: Path) -> int:
    """Write the recovered packets of one stream to ``out_path``; bytes written.

    No file is left when nothing was committed (as lttng-crash)."""
    rec = read_crash_record(mapping)
    packets = list(crash_packets(mapping, rec))
    if not packets:
        return 0
    total = 0
    with open(out_path, "xb") as out:
        for packet in packets:
            data = bytearray(mapping.read_bytes(packet.file_offset, packet.size))
            if packet.patch_bits is not None:
                for off, length in (
                    (rec.content_size_offset, rec.content_size_length),
                    (rec.packet_size_offset, rec.packet_size_length),
                ):
                    if length and off + length <= len(data):
                        data[off : off + length] = packet.patch_bits.to_bytes(length, "little")
            out.write(data)
            total += len(data)
    return total


@dataclass
class Progress:
    """A one-line progress bar on ``stream`` (for dumps of at least a MiB)."""

    total: int
    stream: TextIO
    width: int = 40
    done: int = 0

    def advance(self, amount: int) -> None:
        self.done += amount
        self.render()

    def render(self) -> None:
        frac = 1.0 if self.total <= 0 else min(1.0, self.done / self.total)
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        mib_done, mib_total = self.done / (1 << 20), self.total / (1 << 20)
        self.stream.write(f"\r[{bar}] {frac * 100:5.1f}% {mib_done:.1f}/{mib_total:.1f} MiB")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _trace_dirs(root: Path) -> Iterator[Path]:
    """Directories under ``root`` (itself included) holding a ``metadata`` file."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if METADATA_NAME in filenames:
            yield Path(dirpath)


def dump(shm_path: Path, trace_dir: Path, *, progress: TextIO | None = None) -> int:
    """Recover every trace under ``shm_path`` into ``trace_dir``; return bytes of packets.

    Raises :class:`LayoutError` for a stream file that is not what lttng-ust
    2.13.5 writes, :class:`UstrefError` when there is nothing to recover.
    """
    if not shm_path.is_dir():
        raise UstrefError(f"{shm_path}: not a directory")
    traces = list(_trace_dirs(shm_path))
    if not traces:
        raise UstrefError(f"{shm_path}: no trace (no '{METADATA_NAME}' file) under it")
    streams: list[tuple[Path, Path]] = []
    for trace in traces:
        for entry in sorted(trace.iterdir()):
            if entry.is_file() and entry.name != METADATA_NAME:
                streams.append((trace, entry))
    sizes = {path: path.stat().st_size for _, path in streams}
    bar = None
    if progress is not None and sum(sizes.values()) >= PROGRESS_THRESHOLD:
        bar = Progress(sum(sizes.values()), progress)
    trace_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for trace in traces:
        out = trace_dir / trace.relative_to(shm_path)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trace / METADATA_NAME, out / METADATA_NAME)
    for trace, path in streams:
        out = trace_dir / trace.relative_to(shm_path) / path.name
        with ShmMapping.open_path(path, writable=False) as mapping:
            if mapping.size >= layout.CRASH_DUMP_ABI_MAGIC_LEN and (
                mapping.read_bytes(0, layout.CRASH_DUMP_ABI_MAGIC_LEN)
                != layout.CRASH_DUMP_ABI_MAGIC
            ):
                continue  # not a ring-buffer stream (lttng-crash skips it too)
            total += extract_stream(mapping, out)
        if bar is not None:
            bar.advance(sizes[path])
    if bar is not None:
        bar.finish()
    return total


def dump_main(argv: list[str]) -> int:
    """Entry point of ``ustref ring dump``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="ustref ring dump",
        description="Recover a CTF trace from the --shm-path buffers of an LTTng session "
        "(like lttng-crash -x), even after its app and daemons were killed.",
    )
    parser.add_argument("shm_path", metavar="SHM_PATH", type=Path)
    parser.add_argument("-o", "--output", metavar="TRACE_DIR", type=Path, required=True)
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    args = parser.parse_args(argv)
    try:
        show = not args.no_progress and sys.stderr.isatty()
        dump(args.shm_path, args.output, progress=sys.stderr if show else None)
    except UstrefError as exc:
        print(f"ustref ring dump: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ustref ring dump: error: {exc}", file=sys.stderr)
        return 1
    return 0

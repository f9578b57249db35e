"""Reading what a worker left in its job folder, as the hostile input it may be.

Every file is opened without following symlinks and without blocking on a FIFO, must be a
regular file below a size limit, and is read through that one descriptor. Arrays come from
`.npy`/`.npz` with allow_pickle=False, and a zip's declared sizes are checked before anything is
inflated (no zip bombs). Anything wrong raises BadOutput, which the runner turns into a graded
error or leaves the optional part out.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

JSON_LIMIT = 8 << 20  # inspection.json of a 20k-parameter model is a few kB
ARRAYS_LIMIT = 64 << 20  # tensors of a 20k-parameter model, or feature maps: well under a MB


class BadOutput(Exception):
    """A worker's file is missing, not a regular file, too large, or malformed."""


def read_file(path: Path, limit: int) -> bytes:
    """A whole regular file of at most `limit` bytes (the worker may still be writing to it)."""
    try:
        fd = _open_regular(path)
    except OSError as e:
        raise BadOutput(f"{path.name}: {e.strerror}") from None
    try:
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise BadOutput(f"{path.name} is larger than {limit} bytes")
    return b"".join(chunks)


def follow(path: Path, offset: int, chunk: int = 1 << 20) -> bytes:
    """The next complete lines of a growing file, at most `chunk` bytes of them."""
    try:
        fd = _open_regular(path)
    except OSError:
        return b""
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        data = os.read(fd, chunk)
    finally:
        os.close(fd)
    return data[: data.rfind(b"\n") + 1]


def _open_regular(path: Path) -> int:
    """A descriptor of a regular file the worker wrote: never through a symlink, never blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def read_json(path: Path, limit: int = JSON_LIMIT):
    try:
        return json.loads(read_file(path, limit))
    except (ValueError, UnicodeDecodeError) as e:
        raise BadOutput(f"{path.name} is not JSON ({e})") from None


def load_arrays(path: Path, limit: int = ARRAYS_LIMIT) -> dict[str, np.ndarray]:
    """The arrays of an .npz (or the one array of an .npy, under the key ''), refusing pickles and zip bombs."""
    data = read_file(path, limit)
    try:
        if data[:6] == b"\x93NUMPY":
            return {"": _checked(np.load(io.BytesIO(data), allow_pickle=False))}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(member.file_size for member in archive.infolist()) > limit:
                raise BadOutput(f"{path.name} would inflate past {limit} bytes")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {key: _checked(archive[key]) for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise BadOutput(f"{path.name} is not a plain array file ({e})") from None


def read_predictions(path: Path, images: int) -> np.ndarray:
    """One class 0-9 per evaluation image."""
    arrays = load_arrays(path, limit=16 * images + 4096)
    array = arrays.get("")
    if array is None or array.size == 0 or array.shape != (images,) or array.dtype.kind not in "iu" or array.min() < 0 or array.max() > 9:
        raise BadOutput(f"{path.name}: predictions must be {images} integers from 0 to 9")
    return array.astype(np.int64)


def tail(file, limit: int = 4000) -> str:
    """The end of the output file the parent itself opened (so a renamed or replaced path changes nothing)."""
    file.flush()
    size = os.fstat(file.fileno()).st_size
    return os.pread(file.fileno(), limit, max(0, size - limit)).decode("utf-8", errors="replace")


def _checked(array) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub":
        raise BadOutput("only numeric arrays may come back")
    return array

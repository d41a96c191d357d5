"""Atomic file writing: every output goes to a temporary file first, then is renamed into place.

An interrupted run (Ctrl-C, a crash, a full disk) therefore never leaves a half-written figure,
JSON, image or weight file behind, and an existing good file is only replaced by a complete one, never by
the output of a run that was interrupted (cnnvis.interrupts). The writer holds a lock on its temporary file
while it writes, so the temporary file of a run that was killed (SIGKILL, a power cut) is recognized as stale
— no one holds its lock — and removed by the next write into the same folder.

A file name may have at most NAME_MAX *bytes* (255 on the usual Linux file systems; a Cyrillic letter takes 2,
an emoji 4), and the temporary name is longer than the final one: `check_name_fits` counts both, so that a name
too long is refused before the computing instead of failing at the last write.
"""
import contextlib
import errno
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from cnnvis import interrupts
from cnnvis.errors import UserError

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so stale temporary files are left alone
    fcntl = None

NAME_MAX = 255  # bytes in one file name where the file system does not say
RANDOM = "x" * 8  # mkstemp's random part: 8 characters
# ".<name>.<8 random>.part<suffix>": what atomic_path's temporary files look like (also those of older versions)
PART = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.part(?P<suffix>\.[^./]*)?")


def temporary_name(name):
    """The name of atomic_path's temporary file for a final file name (the random part as 'x's)."""
    return f".{name}.{RANDOM}.part{Path(name).suffix}"


def name_max(folder):
    """The longest file name, in bytes, that `folder` (or its nearest existing parent) takes."""
    folder = Path(os.path.abspath(folder))
    existing = next((f for f in (folder, *folder.parents) if f.is_dir()), None)
    try:
        return os.pathconf(existing, "PC_NAME_MAX") if existing else NAME_MAX
    except (OSError, ValueError, AttributeError):
        return NAME_MAX


def name_bytes(name):
    return len(os.fsencode(name))


def check_name_fits(path, what):
    """Refuse, before the computing, a file that could not be written because its name — or the name of its
    temporary copy — has more bytes than its folder takes. `what` says where the name comes from."""
    path = Path(path)
    longest, limit = name_bytes(temporary_name(path.name)), name_max(path.parent)
    if longest > limit:
        raise UserError(f"{what} make the file name {path.name} ({name_bytes(path.name)} bytes in UTF-8, {longest} "
                        f"with the temporary suffix it is first written under), but a file name in {path.parent} "
                        f"may have at most {limit} bytes; shorten them by {longest - limit} bytes (a letter outside "
                        f"A-Z takes 2-4 bytes).")
    return path


def short_stem(path, limit=60):
    """A file's stem fit to be part of an output file name: letters, digits, '.', '_' and '-' kept (others
    become '-'), cut to at most `limit` bytes at a character boundary, so that a photo named with 60 emoji
    still gives a name far below NAME_MAX."""
    stem = re.sub(r"[^\w.-]+", "-", Path(path).stem, flags=re.UNICODE).strip("-") or "image"
    return stem.encode("utf-8", "ignore")[:limit].decode("utf-8", "ignore") or "image"


def _held_by_no_one(path):
    """Whether no live process holds the lock on `path` (a writer holds it until its file is in place)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale_parts(folder):
    """Remove the temporary files of writes in `folder` that were killed before they could clean up (their
    lock is free). Returns the names removed."""
    removed = []
    if fcntl is None:
        return removed
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if PART.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) and _held_by_no_one(entry.path):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
                    removed.append(entry.name)
    return removed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds. If it fails, the
    folders made for it are removed again (those still empty). An OSError (full disk, file-size limit, a folder
    made read-only) propagates as it is: the caller says what was and was not written
    (`reason`, `remedy`)."""
    path = Path(path)
    made = [folder for folder in path.parents if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # os.replace would fail only after all the writing
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    clean_stale_parts(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part" + path.suffix)
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):  # no locks here: the file then never looks stale either
                fcntl.flock(fd, fcntl.LOCK_EX)  # held until the end: the file is this live run's, not stale
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs get the usual permissions
        interrupts.check()  # a signal Python swallowed (inside a finalizer) must still stop the run here
        os.replace(tmp, path)
    finally:
        os.close(fd)
        if os.path.exists(tmp):
            with contextlib.suppress(OSError):  # a folder made read-only: failure() says it was left
                os.remove(tmp)
            for folder in made:
                with contextlib.suppress(OSError):  # not empty: another writer uses it
                    folder.rmdir()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


REMEDY = {errno.ENOSPC: "free space on the disk", errno.EDQUOT: "free space within your disk quota",
          errno.EFBIG: "raise the file-size limit (ulimit -f)", errno.EROFS: "make the folder writable",
          errno.EACCES: "make the folder writable", errno.EPERM: "make the folder writable",
          errno.EISDIR: "move the folder in its way",
          errno.ENAMETOOLONG: "give a shorter --out or shorter names"}


def reason(error):
    """An OSError in words: "File too large" — and its file, unless that is a hidden temporary one."""
    text = error.strerror or str(error) or type(error).__name__
    name = error.filename and Path(os.fsdecode(error.filename)).name
    return f"{text}: {name}" if name and not name.startswith(".") else text


def remedy(error):
    return REMEDY.get(error.errno, "check the disk and the folder's permissions")


def write_json(path, obj):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_npy(path, array):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)


def read_json(path):
    return json.loads(Path(path).read_text())

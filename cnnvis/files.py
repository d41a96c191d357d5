"""Atomic file writing: every output goes to a temporary file first, then is renamed into place.

An interrupted run (Ctrl-C, a crash, a full disk) therefore never leaves a half-written figure,
JSON, image or weight file behind, and an existing good file is only replaced by a complete one, never by
the output of a run that was interrupted (cnnvis.interrupts).
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from cnnvis import interrupts


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds. If it fails, the
    folders made for it are removed again (those still empty)."""
    path = Path(path)
    made = [folder for folder in path.parents if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part" + path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs get the usual permissions
        interrupts.check()  # a signal Python swallowed (inside a finalizer) must still stop the run here
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
            for folder in made:
                with contextlib.suppress(OSError):  # not empty: another writer uses it
                    folder.rmdir()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, obj):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_npy(path, array):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)


def read_json(path):
    return json.loads(Path(path).read_text())

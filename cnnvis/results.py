"""Result sets: everything one run produces (its JSON, figures, images, maps), written whole or not at all.

Layout: <out>/<network>/<name>/ holding results.json, figures/, images/ and maps/. A question's default
experiment is named after the question (q1 … q4); any other run is named after what it changed
(`set_name`), with a digest of its exact arguments and resolved file paths, so a custom subject, the same
image name from another folder, or another network never lands on another run's set. The report reads
only the default sets of the network it reports on.

A run writes into a hidden temporary folder beside its set and moves it into place when it succeeds; an
error, Ctrl-C or SIGTERM removes the temporary folder and leaves the previous set as it was. A run killed
with SIGKILL leaves its temporary folder behind: the next run in the same place removes it. Whether the set
can be put in place is checked when the run starts, not after its computing; a set that holds another run's
set inside it is never replaced, and no run may write inside a set (`enclosing_set`). A folder is a set when its
results.json says so (`is_result_set`), not because some file of that name lies there: a user's notes, another
course's output or the project's bench/results.json are not sets. A disk that fills up, a file-size limit or a
folder made read-only during the run ends it with one sentence that says the set was not written.
"""
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from cnnvis import interrupts
from cnnvis.errors import UserError
from cnnvis import files
from cnnvis.files import write_json

RESULTS_FILE = "results.json"
LARGEST_RESULTS = 64 << 20  # bytes: far more than any set's results.json; a larger file is not read


def set_name(question, changed):
    """question ("q1") and the run's flags that differ from the defaults ({flag: value}) -> the set's name."""
    if not changed:
        return question
    slug = "_".join(f"{key}-{Path(v).stem if isinstance(v, Path) else v}"
                    for key, value in sorted(changed.items())
                    for v in (value if isinstance(value, (list, tuple)) else [value]))
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", slug).strip("-")[:48]
    exact = json.dumps({k: [str(Path(v).resolve()) if isinstance(v, Path) else v
                            for v in (value if isinstance(value, (list, tuple)) else [value])]
                        for k, value in sorted(changed.items())}, default=str)
    return f"{question}_{slug}_{hashlib.sha256(exact.encode()).hexdigest()[:8]}"


def sources_line(files, folder):
    """"<network>/<set>/results.json=<SHA-256> …": the results a report was built from, relative to the report's
    folder (set names hold no spaces), kept in the PDF so that make_submission can check they are still there."""
    return " ".join(f"{Path(f).relative_to(folder).as_posix()}={_sha256(f)}" for f in files)


def changed_sources(line, folder):
    """The files of a sources_line that are no longer under `folder` as they were; None if `line` names none."""
    sources = re.findall(r"(\S+)=([0-9a-f]{64})", line or "")
    if not sources:
        return None
    return [name for name, digest in sources
            if not (Path(folder) / name).is_file() or _sha256(Path(folder) / name) != digest]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def set_folder(out, network, name):
    return Path(out) / network / name


def is_result_set(folder):
    """Whether `folder` is a result set: its results.json is a JSON object written by a run into
    <out>/<network>/<name>/, so it names that network (and, since it records it, that set's name)."""
    path = Path(folder) / RESULTS_FILE
    try:
        if not path.is_file() or path.stat().st_size > LARGEST_RESULTS:  # a pipe, a folder or a huge file: not one
            return False
        results = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return (isinstance(results, dict) and results.get("network") == path.parent.parent.name
            and results.get("run", path.parent.name) == path.parent.name)


def enclosing_set(folder):
    """The result set that `folder` is or lies inside (its nearest folder that is_result_set), or None: a
    folder inside a set is deleted when that set's next run replaces it."""
    folder = Path(os.path.abspath(folder))
    return next((f for f in (folder, *folder.parents) if is_result_set(f)), None)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent):
    """Remove temporary folders left by runs that no longer exist, and restore a set whose replacement was
    cut off between its two renames."""
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        match = re.fullmatch(r"\.(.+)\.(tmp|old)-(\d+)", entry.name)
        if not match or _alive(int(match.group(3))):
            continue
        final = parent / match.group(1)
        if match.group(2) == "old" and not final.exists():
            entry.rename(final)
        else:
            shutil.rmtree(entry, ignore_errors=True)


class ResultSet:
    """`with ResultSet(out, network, name) as rs:` — files written under rs.path(...) appear at
    <out>/<network>/<name>/ together when the block succeeds, and nowhere otherwise."""

    def __init__(self, out, network, name):
        self.final = set_folder(out, network, name)
        self.tmp = self.final.parent / f".{name}.tmp-{os.getpid()}"
        self.aside = self.final.parent / f".{name}.old-{os.getpid()}"  # the previous set while it is replaced

    def __enter__(self):
        try:
            clean_stale(self.final.parent)
            if self.final.exists():
                self._check_replaceable()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir(parents=True)
        except OSError as e:
            raise UserError(f"the result set {self.final} cannot be written ({e.strerror or e}); make it and its "
                            f"folder writable, or give another --out.") from None
        return self

    def _check_replaceable(self):
        """Now, before any computing: the previous set holds no other run's set, and it can be moved aside
        (an immutable folder cannot). If this run is killed between the two renames, clean_stale restores it."""
        inner = next((p.parent for p in self.final.rglob(RESULTS_FILE)
                      if p.parent != self.final and is_result_set(p.parent)), None)
        if inner is not None:
            raise UserError(f"{self.final} holds another run's results ({inner}), which replacing it would delete; "
                            f"move them out of it first.")
        self.final.rename(self.aside)
        self.aside.rename(self.final)

    def path(self, relative):
        """Where to write `relative` (e.g. "figures/q1.pdf") during the run; its parent folder exists."""
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path):
        """A file's name inside the set, as stored in results.json."""
        return Path(path).relative_to(self.tmp).as_posix()

    def write_results(self, payload):
        write_json(self.path(RESULTS_FILE), payload)
        return self.final / RESULTS_FILE

    def __exit__(self, kind, error, trace):
        existed = self.final.exists()
        try:
            if kind is None:
                interrupts.check()  # a signal Python swallowed must not let this run replace the previous set
                self._put_in_place()
        except OSError as e:
            error = e
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if isinstance(error, OSError):
            raise self._not_written(error, existed) from None
        return False

    def _put_in_place(self):
        """tmp -> final, the previous set moved aside first and back again if the second rename fails."""
        if self.final.exists():
            self.final.rename(self.aside)
        try:
            self.tmp.rename(self.final)
        except OSError:
            if self.aside.exists() and not self.final.exists():
                self.aside.rename(self.final)
            raise
        shutil.rmtree(self.aside, ignore_errors=True)

    def _not_written(self, error, existed):
        """The one sentence for a file-system failure during the run: what was and was not written."""
        previous = "the previous set there is unchanged" if existed else "there was no previous set"
        left = (f"; its temporary folder {self.tmp} could not be removed either" if self.tmp.exists()
                else ", and nothing of this run was kept")
        if error.filename and Path(os.fsdecode(error.filename)).name in (self.final.name, self.aside.name):
            error = OSError(error.errno, error.strerror)  # the set itself: the sentence names it already
        return UserError(f"the result set {self.final} was not written ({files.reason(error)}): {previous}{left}; "
                         f"{files.remedy(error)} and run again.")

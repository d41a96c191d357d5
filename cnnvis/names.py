"""The students' names: the submission's file names follow "Ex2_(student1name)[_student2name]", and the
names are remembered in report/names.json so later runs need not repeat them."""
from pathlib import Path

from cnnvis.errors import UserError
from cnnvis.files import read_json, write_json

NAMES_FILE = Path(__file__).resolve().parent / "report" / "names.json"


def submission_name(names):
    """["Ada Lovelace", "Alan Turing"] -> "Ex2_AdaLovelace_AlanTuring"."""
    return "Ex2_" + "_".join("".join(ch for ch in name if ch.isalnum() or ch == "-") for name in names)


def resolve_names(given, names_file=NAMES_FILE):
    """The names given on the command line (then remembered), else the remembered ones."""
    if given:
        names = [" ".join(n.split()) for n in given]
        if not 1 <= len(names) <= 2 or any(not submission_name([n])[4:] for n in names):
            raise UserError('give one or two student names, each with letters, e.g. --names "Ada Lovelace".')
        write_json(names_file, {"names": names})
        return names
    if Path(names_file).is_file():
        return read_json(names_file)["names"]
    raise UserError('no student names yet; give them once with --names "First Last" ["First Last"].')

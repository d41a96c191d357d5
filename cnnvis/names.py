"""The students' names: the submission's file names follow "Ex2_(student1name)[_student2name]", and the
names are remembered in report/names.json so later runs need not repeat them."""
from pathlib import Path

from cnnvis.errors import UserError
from cnnvis.files import read_json, write_json

NAMES_FILE = Path(__file__).resolve().parent.parent / "report" / "names.json"
MAX_LENGTH = 60


def submission_name(names):
    """["Ada Lovelace", "Alan Turing"] -> "Ex2_AdaLovelace_AlanTuring"."""
    return "Ex2_" + "_".join("".join(ch for ch in name if ch.isalnum() or ch == "-") for name in names)


def check_names(given):
    """One or two names, each with a letter (a name of only "-" or digits would name no one, and the file
    names would be Ex2_-.pdf) and at most MAX_LENGTH characters; spaces collapsed."""
    names = [" ".join(str(n).split()) for n in given]
    if not 1 <= len(names) <= 2:
        raise UserError('give one or two student names, each with letters, e.g. --names "Ada Lovelace".')
    for name in names:
        if not any(ch.isalpha() for ch in name):
            raise UserError(f"the name '{name}' has no letters; give one or two student names, each with letters, "
                            f'e.g. --names "Ada Lovelace".')
        if len(name) > MAX_LENGTH:
            raise UserError(f"the name '{name[:20]}…' has {len(name)} characters; give at most {MAX_LENGTH}.")
    return names


def remember(names, names_file=NAMES_FILE):
    write_json(names_file, {"names": names})


def resolve_names(given, names_file=NAMES_FILE):
    """The names given on the command line (checked, not yet remembered), else the remembered ones."""
    if given:
        return check_names(given)
    if not Path(names_file).is_file():
        raise UserError('no student names yet; give them once with --names "First Last" ["First Last"].')
    try:
        return check_names(read_json(names_file)["names"])
    except (OSError, ValueError, KeyError, TypeError, UserError):
        raise UserError(f"{names_file} is unreadable or holds no valid names; give them again with "
                        f'--names "First Last" ["First Last"].') from None

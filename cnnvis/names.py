"""The students' names: the submission's file names follow "Ex2_(student1name)[_student2name]", and the
names are remembered in report/names.json so later runs need not repeat them.

Names are compared and written in Unicode's composed form (NFC): "é" typed as e + a combining accent (NFD, as
some keyboards and macOS file names give it) is the same letter, and would otherwise lose its accent in the
file names."""
import unicodedata
from pathlib import Path

from cnnvis import files
from cnnvis.errors import UserError
from cnnvis.files import read_json, write_json

NAMES_FILE = Path(__file__).resolve().parent.parent / "report" / "names.json"
MAX_LENGTH = 60
GIVE = 'give one or two student names, each with letters, e.g. --names "Ada Lovelace"'


def submission_name(names):
    """["Ada Lovelace", "Alan Turing"] -> "Ex2_AdaLovelace_AlanTuring"."""
    return "Ex2_" + "_".join("".join(ch for ch in name if ch.isalnum() or ch == "-") for name in names)


def check_names(given):
    """One or two names, each with a letter (a name of only "-" or digits would name no one, and the file
    names would be Ex2_-.pdf) and at most MAX_LENGTH characters, two different students; NFC, spaces
    collapsed."""
    names = [" ".join(unicodedata.normalize("NFC", str(n)).split()) for n in given]
    if not 1 <= len(names) <= 2:
        raise UserError(f"{GIVE}.")
    for name in names:
        if not any(ch.isalpha() for ch in name):
            raise UserError(f"the name '{name}' has no letters; {GIVE}.")
        if len(name) > MAX_LENGTH:
            raise UserError(f"the name '{name[:20]}…' has {len(name)} characters; give at most {MAX_LENGTH}.")
    if len(names) == 2 and submission_name(names[:1]).casefold() == submission_name(names[1:]).casefold():
        raise UserError(f"'{names[0]}' and '{names[1]}' are the same student; give each student's name once.")
    return names


def check_file_names(names, report_folder=None, zip_folder=None):
    """Before the computing: the report's and the ZIP's file names (and their temporary copies) for these
    names fit in the folders they are written to."""
    for folder, suffix in ((report_folder, ".pdf"), (zip_folder, ".zip")):
        if folder is not None:
            files.check_name_fits(Path(folder) / (submission_name(names) + suffix), "the names")


def remember(names, names_file=NAMES_FILE):
    write_json(names_file, {"names": names})


def not_remembered(written, error, names_file=NAMES_FILE):
    """The sentence for names that could not be remembered (a read-only project) after `written` (the report
    or the ZIP) was: what was written stays written."""
    return (f"note: {written} was written, but the names were not remembered in {names_file} "
            f"({files.reason(error)}); give --names again next time.")


def resolve_names(given, names_file=NAMES_FILE):
    """The names given on the command line (checked, not yet remembered), else the remembered ones: a
    names.json that is not {"names": [one or two strings]} is refused, never read letter by letter."""
    if given:
        return check_names(given)
    if not Path(names_file).is_file():
        raise UserError('no student names yet; give them once with --names "First Last" ["First Last"].')
    try:
        names = read_json(names_file)["names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TypeError("not a list of strings")
        return check_names(names)
    except (OSError, ValueError, KeyError, TypeError, UserError):
        raise UserError(f"{names_file} is unreadable or holds no valid names; give them again with "
                        f'--names "First Last" ["First Last"].') from None

"""A hostile user's file system (issue 24): limits counted in bytes, every file-system failure in one sentence,
result sets recognized by their content, damaged records named, names that mean one student each, and
signals and stale temporary files that leave nothing behind.

Each test stands for a case that ended in a traceback, a false statement, or a file left behind."""
import errno
import json
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pytest

import make_report
import make_submission
import q2_fourier
import q4_heatmap
from cnnvis import cli, files, interrupts, param
from cnnvis.errors import UserError
from cnnvis.names import check_names, resolve_names, submission_name
from cnnvis.results import ResultSet, enclosing_set
from conftest import ROOT
from test_deliverable import fake_results
from test_questions import run_script

CYRILLIC, CYRILLIC2 = "Д" * 60, "Ж" * 60  # within the 60-character limit, 120 bytes each in UTF-8
EMOJI = "😀" * 60  # 240 bytes


def one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    return [line for line in lines if line.startswith("error: ")] == lines[-1:] and "Traceback" not in err


def refuse_computing(monkeypatch):
    monkeypatch.setattr(make_report, "ensure_results", lambda args: pytest.fail("the questions ran"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """make_report run on made-up results for "Ada Lovelace": (out folder, report)."""
    out = tmp_path_factory.mktemp("out")
    fake_results(out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(out), "--net",
                                    "efficientnet-lite0"])
        patch.setattr(make_report, "remember", lambda names: None)
        assert make_report.main() == 0
    return out, out / "Ex2_AdaLovelace.pdf"


def read_only(names):
    raise OSError(errno.EROFS, "Read-only file system", str(ROOT / "report" / "names.json"))


def small_entries(stem, report):
    """A small ZIP that keeps the rules (the real one deflates 40 MB)."""
    return {f"{stem}/q3_fool.py": ROOT / "q3_fool.py", f"{stem}/images/coffee.jpg": ROOT / "images" / "coffee.jpg",
            f"{stem}.pdf": report}


# --------------------------------------------------------------------------------------------------
# Item 7: limits in bytes, checked before the computing
# --------------------------------------------------------------------------------------------------
def test_names_within_60_characters_but_over_255_bytes_are_refused_before_the_computing(tmp_path, monkeypatch):
    refuse_computing(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", CYRILLIC, CYRILLIC2, "--out", str(tmp_path)])
    with pytest.raises(UserError, match=r"the names make the file name Ex2_Д+_Ж+\.pdf \(249 bytes in UTF-8, 268 with "
                                        r"the temporary suffix .*at most 255 bytes"):
        make_report.main()
    assert not list(tmp_path.iterdir())


def test_the_temporary_suffix_is_counted(tmp_path):
    fits = "a" * 236 + ".pdf"  # 240 bytes: the file itself fits, its temporary copy (259 bytes) not
    assert files.name_bytes(fits) <= 255 < files.name_bytes(files.temporary_name(fits))
    with pytest.raises(UserError, match="with the temporary suffix"):
        files.check_name_fits(tmp_path / fits, "--names")
    with pytest.raises(OSError):  # what the check prevents: the write itself fails
        with files.atomic_path(tmp_path / fits) as tmp:
            tmp.write_text("x")
    longest = "a" * (255 - 19 - 4) + ".pdf"  # the longest accepted name is writable
    files.check_name_fits(tmp_path / longest, "--names")
    files.write_json(tmp_path / longest, {})
    assert [p.name for p in tmp_path.iterdir()] == [longest]


def test_submission_checks_the_byte_limit_too(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", CYRILLIC, CYRILLIC2, "--report-dir",
                                      str(tmp_path), "--dest", str(tmp_path)])
    with pytest.raises(UserError, match=r"Ex2_Д+_Ж+\.zip .* at most 255 bytes"):
        make_submission.main()


def test_a_photo_named_with_60_emoji_gives_short_file_names(lite0, tmp_path, monkeypatch, capsys):
    """Also item 19: a block, or a photo, named twice is mapped once (the same map was computed and counted twice)."""
    photo = tmp_path / f"{EMOJI}.jpg"  # 244 bytes: a valid name
    photo.write_bytes((ROOT / "images" / "coffee.jpg").read_bytes())
    assert len(files.short_stem(photo).encode()) <= 60 and files.short_stem("a b/ü_ö.x.jpg") == "ü_ö.x"
    computed = fake_q4_work(monkeypatch, lite0)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_script(q4_heatmap, ["--image", photo, photo.name, "--block", "112", "112", "--stride", "112",
                                             "--out", tmp_path / "out"], monkeypatch, capsys)
    assert code == 0, err
    assert all(len(p.name.encode()) <= 255 for p in (tmp_path / "out").rglob("*"))
    assert computed == [112] and len(list((tmp_path / "out").rglob("*.npy"))) == 1 and "1 maps" in out


def fake_q4_work(monkeypatch, lite0):
    """q4 on the bundled network with its occlusion maps, faithfulness and figures faked (they are tested
    elsewhere); returns the list of block sides mapped."""
    computed = []

    class Occluder:  # the maps' values do not matter here, only how many are made and what they are called
        def __init__(self, model):
            pass

        def map(self, x, index, block, stride, fill, batch_size):
            computed.append(block)
            return np.full((2, 2), 0.5, np.float32)
    monkeypatch.setattr(cli, "load_network", lambda args: lite0)
    monkeypatch.setattr(q4_heatmap, "IncrementalOcclusion", Occluder)
    monkeypatch.setattr(q4_heatmap, "compare_maps", lambda *a, **k: ({"occlusion": {"deletion": 0.0, "insertion": 1.0,
                        "deletion_curve": [1.0, 0.0], "insertion_curve": [0.0, 1.0]}}, None))
    monkeypatch.setattr(q4_heatmap, "plot_faithfulness", lambda net, photos, stem: stem.with_suffix(".pdf"))
    monkeypatch.setattr(q4_heatmap, "plot_maps", lambda net, photos, stem: stem.with_suffix(".pdf"))
    return computed


def test_a_full_disk_during_a_question_is_one_sentence(lite0, tmp_path, monkeypatch, capsys):
    fake_q4_work(monkeypatch, lite0)

    def full(path, array):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(q4_heatmap, "write_npy", full)
    code, out, err = run_script(q4_heatmap, ["--image", ROOT / "images" / "coffee.jpg", "--block", "112", "--stride",
                                             "112", "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and one_error_line(err), err
    assert "was not written (No space left on device): there was no previous set, and nothing of this run was " \
           "kept; free space on the disk and run again." in err
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# --------------------------------------------------------------------------------------------------
# Item 9: images/SOURCES.txt checked, one sentence naming the file and line
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    (None, "SOURCES.txt is missing"),
    ("coffee.jpg\tskimage\n{absolute}\tmine\n", r"SOURCES.txt line 2 \('/.*\) names '/.*', which is not a plain file"),
    ("coffee.jpg skimage, CC0\n", r"SOURCES.txt line 1 \('coffee.jpg skimage, CC0'\) is not a file name and its "
                                  r"source separated by a tab"),
    ("coffee.jpg\tskimage\ncoffee.jpg\tagain\n", "line 2 .* lists coffee.jpg a second time"),
    ("gone.jpg\tnowhere\n", "line 1 .* names gone.jpg, which is not a file"),
    ("\n", "lists no photos"),
    (".coffee.jpg\thidden\n", r"names '.coffee.jpg', which is not a plain file name .*not hidden"),
    ("../images/coffee.jpg\tup\n", "which is not a plain file name"),
])
def test_a_broken_sources_list_is_named_with_its_line(content, message, tmp_path, monkeypatch):
    shutil.copy(ROOT / "images" / "coffee.jpg", tmp_path / "coffee.jpg")
    if content is not None:
        (tmp_path / "SOURCES.txt").write_text(content.replace("{absolute}", str(ROOT / "images" / "chelsea.jpg")))
    monkeypatch.setattr(param, "PHOTOS", tmp_path)
    with pytest.raises(UserError, match=message):
        param.default_photos()
    with pytest.raises(UserError, match=message):  # the ZIP reads the same list
        make_submission.used_images(_project_with(tmp_path))


def test_a_sources_list_saved_with_a_byte_order_mark_or_crlf_is_read(tmp_path, monkeypatch):
    shutil.copy(ROOT / "images" / "coffee.jpg", tmp_path / "coffee.jpg")
    (tmp_path / "SOURCES.txt").write_bytes("\ufeffcoffee.jpg\tskimage\r\n\r\n".encode())
    monkeypatch.setattr(param, "PHOTOS", tmp_path)
    assert param.default_photos() == (tmp_path / "coffee.jpg",)


def _project_with(images):
    """A project folder whose images/ is `images`."""
    root = images.parent / f"project-{images.name}"
    if not root.exists():
        root.mkdir()
        (root / "images").symlink_to(images)
    return root


def test_q2_names_a_broken_sources_list_before_the_computing(tmp_path, monkeypatch, capsys):
    (tmp_path / "SOURCES.txt").write_text("coffee.jpg skimage\n")
    monkeypatch.setattr(param, "PHOTOS", tmp_path)
    monkeypatch.setattr(cli, "load_network", lambda args: pytest.fail("the network was loaded"))
    code, out, err = run_script(q2_fourier, ["--out", tmp_path / "out"], monkeypatch, capsys)
    assert code == 2 and "SOURCES.txt line 1" in err and one_error_line(err), err


def test_the_report_names_a_broken_sources_list_before_any_question_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(param, "PHOTOS", tmp_path)  # no SOURCES.txt there
    refuse_computing(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path / "out")])
    with pytest.raises(UserError, match="SOURCES.txt is missing"):
        make_report.main()


# --------------------------------------------------------------------------------------------------
# Item 10: a full disk, a file-size limit, a folder made read-only: one sentence, what was and was not written
# --------------------------------------------------------------------------------------------------
FILE_SIZE_LIMIT = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, {root!r})
    from cnnvis.errors import UserError
    from cnnvis.results import ResultSet
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    try:
        with ResultSet({out!r}, "net", "q3") as rs:
            rs.path("images/big.npy").write_bytes(b"x" * (2 << 20))
    except UserError as e:
        print("error:", e, file=sys.stderr)
        sys.exit(2)
""")


def test_a_file_size_limit_ends_the_run_with_one_sentence(tmp_path):
    with ResultSet(tmp_path, "net", "q3") as rs:
        rs.write_results({"network": "net", "previous": True})
    run = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT.format(root=str(ROOT), out=str(tmp_path))],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and one_error_line(run.stderr), run.stderr
    assert (f"the result set {tmp_path / 'net' / 'q3'} was not written (File too large): the previous set there is "
            f"unchanged, and nothing of this run was kept; raise the file-size limit (ulimit -f)") in run.stderr
    assert json.loads((tmp_path / "net" / "q3" / "results.json").read_text())["previous"]
    assert [p.name for p in (tmp_path / "net").iterdir()] == ["q3"]


def test_a_folder_made_read_only_mid_run_is_one_sentence(tmp_path, monkeypatch):
    real_rename = Path.rename

    def read_only(self, target):
        if self.name.startswith(".q4.tmp-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_rename(self, target)
    monkeypatch.setattr(Path, "rename", read_only)
    with pytest.raises(UserError, match=r"the result set .*q4 was not written \(Permission denied\): there was no "
                                        r"previous set, and nothing of this run was kept; make the folder writable"):
        with ResultSet(tmp_path, "net", "q4") as rs:
            rs.write_results({"network": "net"})
    assert not list((tmp_path / "net").iterdir())

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.tempfile, "mkstemp", no_space)  # a write inside the set fails
    with pytest.raises(UserError, match=r"not written \(No space left on device\).*free space on the disk"):
        with ResultSet(tmp_path, "net", "q4") as rs:
            rs.write_results({"network": "net"})


def test_a_folder_made_immutable_mid_run_is_one_sentence(tmp_path):
    """The real thing where the machine allows it (chattr +i: not even root may write there)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available here")
    with ResultSet(tmp_path, "net", "q1") as rs:
        rs.write_results({"network": "net", "previous": True})
    frozen = tmp_path / "net"
    try:
        with pytest.raises(UserError) as refused:
            with ResultSet(tmp_path, "net", "q1") as rs:
                rs.write_results({"network": "net"})
                if subprocess.run(["chattr", "+i", str(frozen)]).returncode:
                    pytest.skip("chattr +i is not supported here (needs root and a file system that supports it)")
        message = str(refused.value)
        assert f"the result set {frozen / 'q1'} was not written (Operation not permitted): the previous set there is " \
               f"unchanged; its temporary folder {rs.tmp} could not be removed either; make the folder writable and " \
               f"run again." == message
    finally:
        subprocess.run(["chattr", "-i", str(frozen)])
    assert json.loads((frozen / "q1" / "results.json").read_text())["previous"]


def test_a_zip_that_cannot_be_written_is_one_sentence(built, tmp_path, monkeypatch):
    out, report = built
    dest = tmp_path / "dest"
    saved = []
    monkeypatch.setattr(make_submission, "remember", saved.append)
    monkeypatch.setattr(make_submission, "submission_entries", small_entries)
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", "Ada Lovelace", "--report-dir", str(out),
                                      "--dest", str(dest)])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, hard))  # Python ignores SIGXFSZ: the write gets EFBIG
    try:
        with pytest.raises(UserError, match=r"the ZIP .*Ex2_AdaLovelace.zip was not written \(File too large\): no "
                                            r"ZIP was made and the names were not remembered; raise the file-size"):
            make_submission.main()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not list(dest.iterdir()) and saved == []


def test_names_that_cannot_be_remembered_after_the_report_are_one_note(built, tmp_path, monkeypatch, capsys):
    out = shutil.copytree(built[0], tmp_path / "out")
    monkeypatch.setattr(make_report, "remember", read_only)
    monkeypatch.setattr(make_report.pdf, "build", lambda path, story, **kwargs: path.write_bytes(b"%PDF") and path)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(out), "--net",
                                      "efficientnet-lite0"])
    assert make_report.main() == 0
    err = capsys.readouterr().err
    assert f"note: the report {out / 'Ex2_AdaLovelace.pdf'} was written, but the names were not remembered" in err
    assert "(Read-only file system: names.json); give --names again next time." in err and "Traceback" not in err


def test_names_that_cannot_be_remembered_after_the_zip_are_one_note(built, tmp_path, monkeypatch, capsys):
    out, report = built
    monkeypatch.setattr(make_submission, "remember", read_only)
    monkeypatch.setattr(make_submission, "submission_entries", small_entries)
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", "Ada Lovelace", "--report-dir", str(out),
                                      "--dest", str(tmp_path)])
    assert make_submission.main() == 0
    captured = capsys.readouterr()
    assert f"note: the ZIP {tmp_path / 'Ex2_AdaLovelace.zip'} was written, but the names were not remembered" \
        in captured.err and "Traceback" not in captured.err
    with zipfile.ZipFile(tmp_path / "Ex2_AdaLovelace.zip") as zf:
        assert "Ex2_AdaLovelace.pdf" in zf.namelist()


def test_a_report_that_cannot_be_written_is_one_sentence(built, tmp_path, monkeypatch):
    out, report = built
    monkeypatch.setattr(make_report, "remember", lambda names: pytest.fail("names remembered"))

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(make_report.pdf, "build", full)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(out), "--net",
                                      "efficientnet-lite0"])
    with pytest.raises(UserError, match=r"the report .*Ex2_AdaLovelace.pdf was not written \(No space left on device"
                                        r"\): the earlier report there is unchanged, the four questions' results are "
                                        r"kept under .* and the names were not remembered; free space on the disk"):
        make_report.main()


# --------------------------------------------------------------------------------------------------
# Item 12: a folder where the ZIP or the PDF goes is refused before the computing
# --------------------------------------------------------------------------------------------------
def test_a_folder_in_the_reports_place_is_refused_first(tmp_path, monkeypatch):
    (tmp_path / "Ex2_AdaLovelace.pdf").mkdir()
    refuse_computing(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path)])
    with pytest.raises(UserError, match="Ex2_AdaLovelace.pdf is a folder, where the report would be written"):
        make_report.main()


def test_a_folder_in_the_zips_place_is_refused_first(built, tmp_path, monkeypatch):
    out, report = built
    (tmp_path / "Ex2_AdaLovelace.zip").mkdir()
    monkeypatch.setattr(make_submission, "write_zip", lambda *a: pytest.fail("the ZIP was built"))
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", "Ada Lovelace", "--report-dir", str(out),
                                      "--dest", str(tmp_path)])
    with pytest.raises(UserError, match="Ex2_AdaLovelace.zip is a folder, where the ZIP would be written"):
        make_submission.main()
    with pytest.raises(IsADirectoryError):  # and the writer itself stops before writing
        with files.atomic_path(tmp_path / "Ex2_AdaLovelace.zip"):
            pytest.fail("written")


# --------------------------------------------------------------------------------------------------
# Item 13: a result set is recognized by its results.json, not by the file's name
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", ['{"my": "notes"}', "not json", "[]",
                                     '{"network": "efficientnet-lite0", "q2_seconds_per_image": {}}'])
def test_a_results_json_that_is_no_result_set_blocks_nothing(content, tmp_path):
    (tmp_path / "results.json").write_text(content)  # a user's notes, another course's output, bench/
    out = tmp_path / "efficientnet-lite0" / "out"
    assert enclosing_set(out) is None
    cli.check_writable(out)


def test_a_real_result_set_is_still_recognized(tmp_path):
    with ResultSet(tmp_path, "efficientnet-lite0", "q3") as rs:
        rs.write_results({"network": "efficientnet-lite0", "run": "q3", "command": "python q3_fool.py"})
    assert enclosing_set(tmp_path / "efficientnet-lite0" / "q3" / "mine") == tmp_path / "efficientnet-lite0" / "q3"
    (tmp_path / "efficientnet-lite0" / "q3x").mkdir()  # the same file under another folder name is no set
    shutil.copy(tmp_path / "efficientnet-lite0" / "q3" / "results.json", tmp_path / "efficientnet-lite0" / "q3x")
    assert enclosing_set(tmp_path / "efficientnet-lite0" / "q3x") is None


# --------------------------------------------------------------------------------------------------
# Item 14: a damaged benchmark record is named, not blamed on the questions' results
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("record, content", [("BENCH_RESULTS", "{broken"), ("BENCH_RESULTS", "[]"),
                                             ("BENCH_RESULTS", '{"q2_seconds_per_image": "fast"}'),
                                             ("BLIND_NAMING", '{"images": []}'), ("BLIND_NAMING", "")])
def test_a_damaged_bench_record_is_named_before_the_computing(record, content, tmp_path, monkeypatch):
    path = tmp_path / f"{record}.json"
    path.write_text(content)
    monkeypatch.setattr(make_report, record, path)
    refuse_computing(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path / "out")])
    with pytest.raises(UserError, match=f"{path} is damaged .*restore it with git checkout -- .*the questions' "
                                        f"results are not at fault, so --rerun would not mend it"):
        make_report.main()


# --------------------------------------------------------------------------------------------------
# Item 15: the ZIP takes only a report made for its names
# --------------------------------------------------------------------------------------------------
def test_a_report_renamed_to_other_students_is_refused(built, tmp_path, monkeypatch):
    out, report = built
    copy = shutil.copytree(out, tmp_path / "out")
    (copy / report.name).rename(copy / "Ex2_GraceHopper.pdf")
    monkeypatch.setattr(make_submission, "write_zip", lambda *a: pytest.fail("the ZIP was built"))
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", "Grace Hopper", "--report-dir", str(copy),
                                      "--dest", str(tmp_path)])
    with pytest.raises(UserError, match=r"Ex2_GraceHopper.pdf was made for Ada Lovelace, not for Grace Hopper "
                                        r"\(was it renamed\?\)"):
        make_submission.main()
    make_submission.check_report(report, ["Ada Lovelace"])  # the report of these names passes


# --------------------------------------------------------------------------------------------------
# Item 16: SIGHUP and the other stopping signals like SIGTERM; stale temporary files removed
# --------------------------------------------------------------------------------------------------
SLOW_WRITE = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from cnnvis import interrupts
    from cnnvis.files import atomic_path
    try:
        with atomic_path({path!r}) as tmp:
            tmp.write_bytes(b"x" * 1000)
            print("writing", flush=True)
            time.sleep(30)
    except KeyboardInterrupt as e:
        sys.exit(interrupts.exit_status(e))
""")


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1])
def test_a_closed_terminal_leaves_no_temporary_file(sig, tmp_path):
    run = subprocess.Popen([sys.executable, "-c", SLOW_WRITE.format(root=str(ROOT), path=str(tmp_path / "Ex2_X.zip"))],
                           stdout=subprocess.PIPE, text=True)
    assert run.stdout.readline() == "writing\n"
    assert [p.name for p in tmp_path.iterdir()][0].startswith(".Ex2_X.zip.")  # the temporary file, while writing
    run.send_signal(sig)
    assert run.wait(timeout=30) == 128 + sig
    assert not list(tmp_path.iterdir())
    assert interrupts.is_interrupt_status(128 + sig)


def test_nohup_keeps_sighup_ignored(tmp_path):
    check = (f"import sys, signal; sys.path.insert(0, {str(ROOT)!r}); from cnnvis import interrupts; "
             f"print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN, signal.getsignal(signal.SIGTERM) == "
             f"interrupts._handler)")
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=30,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert run.stdout.split() == ["True", "True"], run.stderr


def test_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    stale = tmp_path / ".Ex2_X.zip.ab12cd_9.part.zip"  # left by a run killed while writing (SIGKILL, power cut)
    stale.write_bytes(b"x" * 100)
    stale_pdf = tmp_path / ".Ex2_X.pdf.zzzzzzzz.part.pdf"
    stale_pdf.write_bytes(b"%PDF")
    notes = tmp_path / ".my.part.notes"  # not one of ours
    notes.write_text("keep")
    live = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, sys, time
        f = open({str(tmp_path / '.Ex2_Y.zip.livelive.part.zip')!r}, "wb")
        fcntl.flock(f, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(30)""")], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline() == "locked\n"
        files.write_json(tmp_path / "other.json", {})
        assert not stale.exists() and not stale_pdf.exists() and notes.exists()
        assert (tmp_path / ".Ex2_Y.zip.livelive.part.zip").exists()  # a live writer's file is left alone
    finally:
        live.kill()
        live.wait()


# --------------------------------------------------------------------------------------------------
# Item 17: one student, one name, one form
# --------------------------------------------------------------------------------------------------
def test_decomposed_names_keep_their_accents():
    decomposed = unicodedata.normalize("NFD", "José Müller")
    assert decomposed != "José Müller"
    assert check_names([decomposed]) == ["José Müller"]
    assert submission_name(check_names([decomposed])) == "Ex2_JoséMüller"


@pytest.mark.parametrize("names", [["Ada Lovelace", "Ada Lovelace"], ["Ada Lovelace", "ada  lovelace"],
                                   ["José", unicodedata.normalize("NFD", "José")]])
def test_the_same_student_twice_is_refused(names):
    with pytest.raises(UserError, match="are the same student; give each student's name once"):
        check_names(names)


@pytest.mark.parametrize("content", ['{"names": "Al"}', '{"names": [1, 2]}', '{"names": [["Ada"]]}', '["Ada"]',
                                     '{"names": null}'])
def test_a_names_file_that_is_not_a_list_of_strings_is_refused(content, tmp_path):
    (tmp_path / "names.json").write_text(content)
    with pytest.raises(UserError, match="names.json is unreadable or holds no valid names; give them again"):
        resolve_names(None, tmp_path / "names.json")


def test_a_good_names_file_is_read(tmp_path):
    (tmp_path / "names.json").write_text(json.dumps({"names": [unicodedata.normalize("NFD", "José"), "Ada"]}))
    assert resolve_names(None, tmp_path / "names.json") == ["José", "Ada"]


# --------------------------------------------------------------------------------------------------
# Other streams: an output that cannot be written is one line, not a traceback
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, status, line", [
    ("print('x' * 100000)", 1, "error: writing the output failed (No space left on device); no file was left "
                               "half-written"),
    ("raise OSError(errno.EFBIG, 'File too large', 'maps/1.npy')", 1, "error: writing maps/1.npy failed (File too "
                                                                       "large)"),
    ("raise OSError(errno.ENOSPC, 'No space left on device')", 1, "error: writing the output failed"),
])
def test_an_output_that_cannot_be_written_is_one_line(body, status, line, tmp_path):
    script = f"import errno, sys; sys.path.insert(0, {str(ROOT)!r}); from cnnvis import interrupts; {body}"
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-c", script], stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=30)
    assert run.returncode == status and run.stderr.startswith(line), run.stderr
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr and "ignored" not in run.stderr


def test_a_reader_that_went_away_ends_the_run_quietly():
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cnnvis import interrupts; print('x' * 1000000)"
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()  # like `| head -0`
    assert run.wait(timeout=30) == 1 and run.stderr.read() == b""

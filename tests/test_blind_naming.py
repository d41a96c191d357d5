"""The blind-naming record: its description of the protocol comes first, scoring follows the stated rule, and
what was recorded before keeps its order."""
import importlib.util
import json

from conftest import ROOT

spec = importlib.util.spec_from_file_location("blind_naming", ROOT / "tools" / "blind_naming.py")
blind_naming = importlib.util.module_from_spec(spec)
spec.loader.exec_module(blind_naming)


def test_score_records_the_protocol_first_and_scores_by_containment(tmp_path, monkeypatch):
    record = tmp_path / "blind_naming.json"
    old = {"images": {"b" * 64: {"class": "daisy", "top1": True, "top3": True}, "a" * 64: {"class": "pizza",
                                                                                           "top1": False, "top3": False}}}
    record.write_text(json.dumps(old))
    monkeypatch.setattr(blind_naming, "RECORD", record)
    entry = {"question": "q2", "method": "m", "network": "efficientnet-lite0"}
    key = {"set1/img_00.png": {**entry, "class": "monarch", "sha256": "c" * 64},
           "set1/img_01.png": {**entry, "class": "school bus", "sha256": "d" * 64},
           "set1/img_02.png": {**entry, "class": "ostrich", "sha256": "e" * 64}}
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "set1.tsv").write_text("img_00.png\tmonarch butterfly\tadmiral\tmoth\n"  # contains the class: top-1
                                       "img_01.png\tbus\tcab\ttram\n"  # the class contains the guess: top-1
                                       "img_02.png\temu\tcrane\tOstrich\n")  # third guess, any case: top-3 only
    blind_naming.score(tmp_path / "key.json", [tmp_path / "set1.tsv"])
    saved = json.loads(record.read_text())
    assert list(saved)[0] == "description" and "vision-language model" in saved["description"]
    assert "not a person" in saved["description"] and "contains the class name" in saved["description"]
    assert list(saved["images"])[:2] == ["b" * 64, "a" * 64]  # earlier entries keep their order
    scored = {v["class"]: (v["top1"], v["top3"]) for v in saved["images"].values()}
    assert scored["monarch"] == (True, True) and scored["school bus"] == (True, True)
    assert scored["ostrich"] == (False, True)


def test_the_committed_record_describes_its_viewers_first():
    saved = json.loads((ROOT / "bench" / "blind_naming.json").read_text())
    assert list(saved)[0] == "description" and saved["description"] == blind_naming.DESCRIPTION
    assert (ROOT / "tools" / "blind_naming_brief.md").is_file()

"""The progress store: merged writes from two processes, bad entries dropped, nothing destroyed."""
import json

import pytest

from tracer.progress import ProgressError, ProgressStore


def test_two_stores_keep_each_others_progress(tmp_path):
    first, second = ProgressStore(tmp_path), ProgressStore(tmp_path)   # two terminals, both open
    first.tour("ppo").next_step = 5
    first.save()
    second.tour("mlp").next_step = 3
    second.entry("hunts", "ppo")["guesses"] = 2
    second.save()
    first.tour("ppo").next_step = 6
    first.save()
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["tours"]["ppo"]["next_step"] == 6
    assert data["tours"]["mlp"]["next_step"] == 3
    assert data["hunts"]["ppo"] == {"guesses": 2}
    assert ProgressStore(tmp_path).peek("hunts", "ppo") == {"guesses": 2}


def test_forget_removes_only_that_entry(tmp_path):
    store = ProgressStore(tmp_path)
    store.tour("ppo"), store.tour("mlp")
    store.save()
    other = ProgressStore(tmp_path)
    other.forget("tours", "ppo")
    other.save()
    assert set(json.loads((tmp_path / "progress.json").read_text())["tours"]) == {"mlp"}


@pytest.mark.parametrize("bad", [{"next_step": "3"}, {"next_step": -2}, {"next_step": 1.5}, {"answers": []},
                                 {"missed": 4}, {"steps_seen": "abc"}, {"finished": "yes"}, {"unknown": 1}, [1, 2]])
def test_a_bad_entry_is_dropped_and_the_rest_kept(tmp_path, bad):
    (tmp_path / "progress.json").write_text(json.dumps(
        {"version": 2, "tours": {"mlp": bad, "ppo": {"next_step": 4}}}))
    store = ProgressStore(tmp_path)
    assert set(store.tours) == {"ppo"} and store.tours["ppo"].next_step == 4
    assert any("mlp" in w for w in store.warnings)
    assert len(list(tmp_path.glob("progress.json.corrupt-*"))) == 1     # the original, copied aside


def test_unreadable_files_are_set_aside_under_unique_names(tmp_path):
    for text in (b"\xff\xfe garbage", b"[" * 100_000):
        (tmp_path / "progress.json").write_bytes(text)
        store = ProgressStore(tmp_path)
        assert store.tours == {} and "corrupt" in store.warnings[0]
    assert len(list(tmp_path.glob("progress.json.corrupt-*"))) == 2


def test_a_file_where_the_state_directory_should_be_is_a_clear_error(tmp_path):
    (tmp_path / "state").write_text("")
    with pytest.raises(ProgressError, match="WALKTHROUGH_STATE_DIR"):
        ProgressStore(tmp_path / "state")


def test_starting_again_keeps_each_attempt_and_the_best(tmp_path):
    store = ProgressStore(tmp_path)
    tour = store.tour("ppo")
    tour.answers = {"a.1": True, "b.1": False, "c.1": True}
    tour.missed, tour.steps_seen, tour.finished = ["b.1"], ["a", "b", "c"], True
    tour.question_text["b.1"] = "step 2 “B”: what is b?"
    tour.archive()
    tour.answers = {"a.1": True}
    store.save()
    again = ProgressStore(tmp_path).tours["ppo"]
    assert again.attempts[0] | {"ended": 0} == {"right": 2, "asked": 3, "seen": 3, "finished": True,
                                                "missed": ["b.1"], "ended": 0}
    assert again.next_step == 0 and not again.finished and again.steps_seen == []
    assert again.missed == ["b.1"] and again.describe_question("b.1") == "step 2 “B”: what is b?"
    assert again.best() == (2, 3) and again.score == (1, 1)
    assert again.describe_question("zz.g1") == "question zz.g1"


def test_a_file_too_large_to_be_ours_is_set_aside(tmp_path):
    (tmp_path / "progress.json").write_bytes(b'{"version": 2, "pad": "' + b"x" * (17 * 2 ** 20) + b'"}')
    store = ProgressStore(tmp_path)
    assert store.tours == {} and "larger than 16 MB" in store.warnings[0]


def test_check_writable_names_the_folder(tmp_path):
    (tmp_path / "file").write_text("")
    store = ProgressStore(tmp_path / "elsewhere")
    store.directory = tmp_path / "file" / "inner"
    with pytest.raises(ProgressError, match="is not a directory"):
        store.check_writable()

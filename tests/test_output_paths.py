"""Output paths: only the named file is ever replaced, folders are never emptied, modes follow the
umask (or the replaced file), temporaries never outlive a run, and a kill -9 leaves a complete file."""
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from grmnet.files import (
    OutputPathError,
    atomic_folder,
    atomic_write,
    atomic_write_text,
    check_output_file,
    check_output_folder,
    clean_stale_temps,
    temp_name,
)
from sketchedit.atomic import ExportError
from sketchedit.document import SketchDocument
from sketchedit.export import check_export_path, export_document


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(".~"))


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def doc():
    base = np.full((60, 90, 3), 255, np.uint8)
    base[10:20, 10:40] = 0
    return SketchDocument(base, path="scene.png")


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path, umask_022):
    new = tmp_path / "new.txt"
    atomic_write_text(new, "hello")
    assert stat.S_IMODE(new.stat().st_mode) == 0o644 and new.read_text() == "hello"
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o664)
    atomic_write_text(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and kept.read_text() == "new"
    folder = tmp_path / "out"
    atomic_folder(folder, lambda tmp: open(os.path.join(tmp, "a.txt"), "w").close())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert leftovers(tmp_path) == []


def test_a_symlinked_output_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_failures_remove_the_temporary_and_keep_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("writer crashed")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, lambda tmp: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(RuntimeError):
        atomic_folder(tmp_path / "new-folder", lambda tmp: (_ for _ in ()).throw(RuntimeError()))
    assert target.read_text() == "old" and not (tmp_path / "new-folder").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("make", ["folder", "fifo", "device"])
def test_non_files_are_refused_untouched(tmp_path, make):
    if make == "folder":
        target = tmp_path / "target"
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    elif make == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    else:
        target = "/dev/null"
    with pytest.raises(OutputPathError, match="nothing was changed"):
        atomic_write_text(target, "x")
    if make == "folder":
        assert (target / "keep.txt").read_text() == "mine"
    assert os.path.exists(target)
    assert leftovers(tmp_path) == []


def test_folder_outputs_go_into_a_new_or_empty_folder_only(tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    (existing / "sub").mkdir()
    with pytest.raises(OutputPathError, match="not empty"):
        check_output_folder(existing)
    notes = tmp_path / "NOTES"
    notes.write_text("mine")
    with pytest.raises(OutputPathError, match="it is a file"):
        check_output_folder(notes)
    empty = tmp_path / "empty"
    empty.mkdir()
    atomic_folder(empty, lambda tmp: open(os.path.join(tmp, "a.txt"), "w").close())
    assert os.listdir(empty) == ["a.txt"]
    assert sorted(os.listdir(tmp_path)) == ["NOTES", "empty", "existing"], "nothing renamed aside"
    assert notes.read_text() == "mine" and (existing / "notes.txt").read_text() == "mine"


def test_missing_folder_and_file_in_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputPathError, match="is a file"):
        check_output_file(blocker / "deeper" / "out.png")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_file(tmp_path / "missing" / "out.png")
    with pytest.raises(OutputPathError, match="No output"):
        check_output_file("")


def test_stale_temporaries_of_dead_processes_are_cleaned(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    mine = temp_name(str(tmp_path / "a.ora"), ".ora")
    stale = mine.replace(f"-{os.getpid()}-", f"-{dead_pid}-")
    for name in (mine, stale, ".~unrelated.txt", "notes.txt"):
        (tmp_path / name).write_text("x")
    stale_dir = tmp_path / temp_name(str(tmp_path / "layers")).replace(f"-{os.getpid()}-", f"-{dead_pid}-")
    stale_dir.mkdir()
    assert clean_stale_temps(tmp_path) == 2
    assert sorted(os.listdir(tmp_path)) == sorted([mine, ".~unrelated.txt", "notes.txt"]), \
        "a live process's temporary and unrelated files stay"


def test_export_paths_are_checked_before_any_work(doc, tmp_path):
    folder = tmp_path / "some" / "existing" / "folder"
    folder.mkdir(parents=True)
    (folder / "photo.jpg").write_text("mine")
    (folder / "sub").mkdir()
    for target in (folder, tmp_path / "some"):
        with pytest.raises(ExportError, match="not empty"):
            check_export_path(target)
        with pytest.raises(ExportError, match="not empty"):
            export_document(doc, target)
    notes = tmp_path / "NOTES"
    notes.write_text("mine")
    with pytest.raises(ExportError, match="is a file"):
        export_document(doc, notes)
    with pytest.raises(ExportError):
        export_document(doc, "/dev/null")
    assert (folder / "photo.jpg").read_text() == "mine" and (folder / "sub").is_dir()
    assert notes.read_text() == "mine" and not (tmp_path / "NOTES.~old").exists()
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert check_export_path(tmp_path / "new-folder") == "layers-folder"
    assert check_export_path(tmp_path / "x.psd") == "psd"


def test_cli_checks_the_output_before_the_model_runs(tmp_path, capsys, monkeypatch):
    from sketchedit import cli

    sketch = tmp_path / "scene.png"
    Image.fromarray(np.full((20, 20, 3), 255, np.uint8)).save(sketch)
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")

    def not_yet(*args, **kwargs):
        raise AssertionError("the output path is checked before the sketch is read or the model runs")

    import sketchedit.export
    monkeypatch.setattr(sketchedit.export, "open_document", not_yet)
    for out in (folder, tmp_path / "x.xyz", tmp_path / "no" / "x.png", "/dev/null"):
        code = cli.main(["apply", str(sketch), "-e", "the cat", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert (folder / "keep.txt").read_text() == "mine"


KILL_SCRIPT = r"""
import sys, numpy as np
from sketchedit.document import SketchDocument
from sketchedit.export import export_document
n = int(sys.argv[2])
base = np.full((1500, 2000, 3), 255, np.uint8)
base[::7, :] = (n * 37) % 200            # each run writes different pixels
doc = SketchDocument(base)
print("ready", flush=True)
while True:
    export_document(doc, sys.argv[1])
"""


def _complete_ora(path) -> bool:
    with zipfile.ZipFile(path) as zf:
        return zf.testzip() is None and "stack.xml" in zf.namelist()


@pytest.mark.slow
def test_kill_9_during_export_leaves_old_or_new_file_and_no_temporaries(tmp_path):
    target = tmp_path / "out.ora"
    script = tmp_path / "exporter.py"
    script.write_text(KILL_SCRIPT)
    rng = np.random.default_rng(0)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    kills = complete = stale = 0
    for n in range(20):
        proc = subprocess.Popen([sys.executable, str(script), str(target), str(n)], stdout=subprocess.PIPE,
                                env=env, cwd=os.getcwd())
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += proc.returncode == -signal.SIGKILL
        if target.exists():
            assert _complete_ora(target), f"kill {n}: a half-written file"
            complete += 1
        stale += len(leftovers(tmp_path))
    assert kills == 20
    assert target.exists(), "at least one export finished in 20 runs"
    export_document(SketchDocument(np.full((8, 8, 3), 255, np.uint8)), target)  # the next run
    assert leftovers(tmp_path) == [] and _complete_ora(target)
    print(json.dumps({"kill_9": kills, "target_complete_after_kill": complete, "temporaries_seen_after_kills": stale,
                      "temporaries_after_next_run": len(leftovers(tmp_path))}))

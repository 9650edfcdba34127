"""Training end to end on tiny synthetic data: resume, torchrun DDP, and an overfitting check."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grmnet.config import tiny_config


def _run(*args, env=None, timeout=600):
    # in-process CLI tests (predict, the app) set OMP_WAIT_POLICY=PASSIVE in this process's environment; a
    # training started from a user's shell keeps OpenMP's spinning default, and with passive waits the overfit
    # run took 399 s instead of 238 s
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    res = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                         env={**base, **(env or {})})
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    _run("-m", "grmnet.cli", "synth", "--out", str(root), "--split", "train", "--n", "2", "--seed", "5")
    return root


def _config(path: Path, **overrides) -> Path:
    cfg = tiny_config()
    cfg.training.warmup_iters, cfg.training.checkpoint_every, cfg.training.augment = 5, 2, False
    for k, v in overrides.items():
        part = cfg.training if hasattr(cfg.training, k) else cfg
        assert hasattr(part, k), f"no config field {k}"
        setattr(part, k, v)
    cfg.save(path)
    return path


def test_train_checkpoints_and_resumes(tiny_data, tmp_path):
    cfg = _config(tmp_path / "c.json")
    run = tmp_path / "run"
    _run("-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--config", str(cfg),
         "--iters", "3", "--device", "cpu", "--workers", "0")
    assert json.loads((run / "trainer_state.json").read_text())["step"] == 3
    for f in ("model.safetensors", "optimizer.safetensors", "config.json", "vocab.txt", "train_log.jsonl"):
        assert (run / f).is_file(), f
    _run("-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--resume",
         "--iters", "5", "--device", "cpu", "--workers", "0")
    assert json.loads((run / "trainer_state.json").read_text())["step"] == 5


def test_online_synthesis_with_time_budget(tmp_path):
    """--online-seed trains on scenes composed in the loader workers; --time-budget stops by wall-clock and
    the elapsed seconds survive a resume."""
    cfg = _config(tmp_path / "c.json")
    run = tmp_path / "online"
    _run("-m", "grmnet.cli", "train", "--online-seed", "5", "--out", str(run), "--config", str(cfg),
         "--iters", "100000", "--time-budget", "15", "--device", "cpu", "--workers", "1")
    state = json.loads((run / "trainer_state.json").read_text())
    # (15 s: on a loaded 2-core machine the loader worker's first scene alone can take several seconds; 8 s once
    # gave no step at all on a slower CPU in the full suite)
    assert 1 <= state["step"] < 100000 and state["seconds"] >= 15
    _run("-m", "grmnet.cli", "train", "--online-seed", "5", "--out", str(run), "--resume",
         "--iters", "100000", "--time-budget", "8", "--device", "cpu", "--workers", "0")
    assert json.loads((run / "trainer_state.json").read_text())["step"] == state["step"]  # budget already spent


def test_synthesized_scene_matches_the_written_one(tiny_data):
    """The on-the-fly source yields exactly what `grmnet synth` wrote for the same (seed, key)."""
    import numpy as np

    from grmnet.data.sketchyscene import SketchySceneDataset
    from grmnet.training import DiskScenes, SynthesizedScenes

    disk = DiskScenes(SketchySceneDataset(tiny_data, "train"))
    img = disk.data.image(1)
    drawing, regions, categories, exprs = SynthesizedScenes(seed=5, start_key=1).sample(0, None)
    assert np.array_equal(drawing, img.drawing)
    assert np.array_equal(regions, img.region_masks)
    assert categories == img.categories
    assert exprs == disk.data.expressions_of(1)


def test_free_phrasing_share_adds_free_expressions_and_keeps_the_template_ones():
    """free_share mixes the generator's free family into the composed scene's expressions: the template entries
    stay exactly as `grmnet synth` writes them, the free ones are about the asked share, never of a held-out kind
    (their words: 'corner', 'edge', ordinals), and their targets are objects of the scene."""
    import pytest

    from grmnet.data.synth import compose_sample
    from grmnet.training import SynthesizedScenes

    template_total = free_total = 0
    for key in range(1, 9):
        _, template = compose_sample("train", 5, key)
        scene, mixed = compose_sample("train", 5, key, free_share=0.5)
        assert {t: mixed[t] for t in template} == template
        free = {t: v for t, v in mixed.items() if t not in template}
        template_total, free_total = template_total + len(template), free_total + len(free)
        for text, targets in free.items():
            assert all(0 <= i < len(scene.objects) for i in targets)
            assert not {"corner", "edge", "first", "second", "last"} & set(text.split()), text
    assert 0.35 < free_total / (free_total + template_total) <= 0.5
    only_free = SynthesizedScenes(seed=5, start_key=1, free_share=1.0).sample(0, None)[3]
    assert only_free and not set(only_free) & set(compose_sample("train", 5, 1)[1])
    with pytest.raises(ValueError, match="free_share"):
        compose_sample("train", 5, 1, free_share=1.5)


def test_bf16_support_is_read_from_the_cpu_flags(tmp_path):
    from grmnet.runtime import cpu_has_bf16

    flags = tmp_path / "cpuinfo"
    flags.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert cpu_has_bf16(str(flags))
    flags.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert not cpu_has_bf16(str(flags))
    assert not cpu_has_bf16(str(tmp_path / "missing"))


def test_cpu_name_for_benchmark_records(tmp_path):
    from grmnet.runtime import cpu_name

    info = tmp_path / "cpuinfo"
    info.write_text("".join(f"processor\t: {i}\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2\n\n" for i in range(2)))
    assert cpu_name(str(info)) == "AMD EPYC, 2 logical cores"
    info.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: amx_bf16\n")
    assert cpu_name(str(info)) == "Xeon, 1 logical cores, native bf16"
    assert cpu_name(str(tmp_path / "missing")) == ""


def test_amp_auto_uses_bf16_only_where_it_is_native():
    import torch

    from grmnet.training import resolve_amp

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert resolve_amp("auto", cpu, has_bf16=True) == "bf16"
    assert resolve_amp("auto", cpu, has_bf16=False) == "off", "emulated bf16 is slower than fp32"
    assert resolve_amp("auto", gpu, has_bf16=False) == "bf16"
    assert resolve_amp("off", cpu, has_bf16=True) == "off"
    with pytest.warns(RuntimeWarning, match="without native bf16"):
        assert resolve_amp("bf16", cpu, has_bf16=False) == "bf16"


def test_training_keeps_freed_memory_on_glibc():
    """CPU training tells glibc to keep freed blocks (fewer page faults per step); elsewhere nothing happens."""
    import platform

    from grmnet.runtime import keep_freed_memory

    assert keep_freed_memory() == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_a_stop_signal_is_taken_at_the_next_step_and_a_second_one_at_once():
    """SIGTERM or SIGINT sets the stop request (training then checkpoints at its step and exits); a second signal
    interrupts at once; the previous handlers come back afterwards."""
    import os
    import signal

    from grmnet.training import StopRequest

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    stop = StopRequest().install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        stop.restore()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_schedule_follows_wall_clock_progress():
    from grmnet.training import lr_at

    cfg = tiny_config()
    cfg.training.lr, cfg.training.warmup_iters = 1.0, 10
    assert lr_at(4, cfg, 100) == 0.5                              # warm-up by steps either way
    assert lr_at(50, cfg, 100, progress=0.0) == 1.0
    assert abs(lr_at(50, cfg, 100, progress=0.5) - 0.525) < 1e-9  # half-way down the cosine
    assert abs(lr_at(50, cfg, 100, progress=2.0) - 0.05) < 1e-9   # floor after the budget


def test_torchrun_two_cpu_processes(tiny_data, tmp_path):
    cfg = _config(tmp_path / "c.json")
    run = tmp_path / "ddp"
    args = ["-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
            "-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--config", str(cfg),
            "--device", "cpu", "--workers", "0"]
    _run(*args, "--iters", "2", env={"OMP_NUM_THREADS": "1"})
    assert json.loads((run / "trainer_state.json").read_text())["step"] == 2
    _run(*args, "--iters", "4", "--resume", env={"OMP_NUM_THREADS": "1"})
    assert json.loads((run / "trainer_state.json").read_text())["step"] == 4


@pytest.mark.slow
def test_overfits_a_few_scenes(tiny_data, tmp_path):
    """Some hundred steps on two scenes must reproduce their referred instances (AP50 about 0 untrained). The
    hand-drawn engine's scenes are dense (13.5 objects on average) and drawn with wobble, gaps and retraced
    outlines. 900 steps at lr 1e-3 reached AP50 94.7 (fp32, 2 threads), 79.3 (fp32, 1 thread) and 81.1 (bf16,
    2 threads, 242 s instead of 5-7 min) on them: 31 pairs and rounding make the end point vary that much (lr 2e-3,
    600 steps: 97.8 and 73.5), so the bar is 75, below the 90 the earlier engine's sparser clip-art scenes allowed.
    Trained the way the shipped weights are (bf16 autocast) where the CPU computes bf16 natively, else fp32."""
    from grmnet.runtime import cpu_has_bf16

    cfg = _config(tmp_path / "c.json", lr=1e-3, batch_size=8, expressions_per_image=8, checkpoint_every=1000,
                  warmup_iters=20)
    run = tmp_path / "of"
    _run("-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--config", str(cfg),
         "--iters", "900", "--device", "cpu", "--workers", "0", "--amp", "bf16" if cpu_has_bf16() else "off")
    res = _run("-m", "grmnet.cli", "evaluate", "--data", str(tiny_data), "--split", "train", "--weights", str(run),
               "--device", "cpu")
    metrics = json.loads(res.stdout.strip().splitlines()[-1])
    assert metrics["AP50"] >= 75, metrics


def test_shipping_a_continued_run_keeps_the_earlier_stage(tiny_data, tmp_path):
    """A run started with --init from shipped weights is shipped back as a new stage of their training log."""
    from fakes import make_tiny_weights

    shipped = tmp_path / "shipped"
    make_tiny_weights(shipped)
    earlier = [{"step": 10, "lr": 1e-3, "images_per_s": 2.0, "pairs_per_step": 8, "time": 100.0, "loss_mask": 0.5},
               {"step": 20, "lr": 1e-3, "images_per_s": 2.0, "pairs_per_step": 8, "time": 110.0, "loss_mask": 0.4}]
    (shipped / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in earlier))
    run = tmp_path / "run"
    _run("-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--init", str(shipped),
         "--config", str(_config(tmp_path / "c.json")), "--iters", "2", "--device", "cpu", "--workers", "0")
    assert json.loads((run / "trainer_state.json").read_text())["init"] == str(shipped)
    _run(str(Path(__file__).resolve().parents[1] / "tools" / "ship_weights.py"), str(run), str(shipped),
         "--hardware", "test machine")
    rows = [json.loads(l) for l in (shipped / "train_log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in rows] == [1, 1, 2]
    assert rows[0]["hardware"] == "2-core CPU" and rows[-1]["hardware"] == "test machine"
    assert rows[-1]["step"] == 2 and rows[-1]["images_per_step"] >= 1


def test_averaged_runs_ship_as_one_stage_whose_members_add_up(tmp_path):
    """tools/average_weights.py: the mean of the members' tensors, their logs kept side by side; shipped, they
    are one stage whose iterations and rates are the members' sums (tools/write_results.py)."""
    import importlib.util

    import torch
    from safetensors.torch import load_file

    from fakes import make_tiny_weights

    tools = Path(__file__).resolve().parents[1] / "tools"
    shipped = tmp_path / "shipped"
    make_tiny_weights(shipped, seed=0)
    (shipped / "train_log.jsonl").write_text(json.dumps(
        {"step": 10, "lr": 1e-3, "images_per_s": 2.0, "pairs_per_step": 8, "time": 100.0, "loss_mask": 0.5}) + "\n")
    members = []
    for i in range(2):
        run = tmp_path / f"member_{i}"
        make_tiny_weights(run, seed=i + 1)
        (run / "trainer_state.json").write_text(json.dumps({"step": 20, "init": str(shipped)}))
        (run / "train_log.jsonl").write_text("".join(json.dumps(
            {"step": s, "lr": 1e-3, "images_per_s": 3.0 + i, "pairs_per_step": 8, "time": 200.0 + s,
             "loss_mask": 0.3}) + "\n" for s in (10, 20)))
        members.append(run)
    soup = tmp_path / "soup"
    _run(str(tools / "average_weights.py"), str(soup), *map(str, members))
    a, b, mean = (load_file(str(d / "model.safetensors")) for d in (*members, soup))
    for k in mean:
        if mean[k].is_floating_point():
            assert torch.allclose(mean[k], (a[k] + b[k]) / 2, atol=1e-6), k
    _run(str(tools / "ship_weights.py"), str(soup), str(shipped), "--continues", "--hardware", "one GPU")
    rows = [json.loads(l) for l in (shipped / "train_log.jsonl").read_text().splitlines()]
    assert [(r["stage"], r.get("member")) for r in rows] == [(1, None), (2, 0), (2, 0), (2, 1), (2, 1)]

    spec = importlib.util.spec_from_file_location("write_results", tools / "write_results.py")
    write_results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(write_results)
    stage_2 = next(l for l in write_results.training_section(shipped) if l.startswith("| 2 |"))
    cells = [c.strip() for c in stage_2.strip("|").split("|")]
    # two side by side, 20 steps each -> 40 iterations; their median rates 3 and 4 -> 7 images/s
    assert cells[1] == "one GPU, 2 fine-tunes side by side, averaged" and cells[2] == "40" and cells[6] == "7.00"


def test_fine_tuning_the_mask_branch_alone_at_a_finer_grid(tiny_data, tmp_path):
    """--init with another mask_roi_size keeps every tensor (none depends on it) and, with the rest frozen, trains
    only the mask branch; the run's masks come out at the new size."""
    import torch
    from safetensors.torch import load_file

    from fakes import make_tiny_weights
    from grmnet.weights import load_model

    init = tmp_path / "init"
    make_tiny_weights(init)
    frozen = ["language", "backbone", "rpn", "box_head", "box_predictor", "box_context", "box_fusion"]
    cfg = _config(tmp_path / "c.json", mask_roi_size=28, frozen_parts=frozen, lr=1e-2)
    run = tmp_path / "run"
    _run("-m", "grmnet.cli", "train", "--data", str(tiny_data), "--out", str(run), "--init", str(init),
         "--config", str(cfg), "--iters", "3", "--device", "cpu", "--workers", "0")
    before, after = load_file(str(init / "model.safetensors")), load_file(str(run / "model.safetensors"))
    changed = {k.split(".")[1] for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= {"mask_head", "mask_context", "mask_fusion"}, changed
    model, run_cfg, _, _ = load_model(run, "cpu")
    assert run_cfg.mask_roi_size == 28 and model.roi_heads.mask_roi_pool.output_size == (28, 28)


def test_collected_candidate_rows_sit_with_their_data(tmp_path):
    """tools/collect_candidate.py: one row per evaluated split, after the rows of the same data; renames first;
    --shipped replaces the shipped weights' tables and keeps the previous detected-categories table."""
    tools = Path(__file__).resolve().parents[1] / "tools"
    results, run = tmp_path / "results", tmp_path / "run"
    results.mkdir()
    run.mkdir()
    old = [{"candidate": "new default", "weights": "w", "data": d, "split": s, "metrics": {"AP": 1.0}}
           for d, s in (("data/synth", "test"), ("data/synth_style", "style_test"))]
    (results / "candidates.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    (results / "detected_categories.json").write_text('{"before": true}')
    for name, ap in (("test.json", 2.0), ("style.json", 3.0), ("real.json", 4.0)):
        (run / name).write_text(json.dumps({"AP": ap, "weights": "resources/weights/model.safetensors"}))
    (run / "detected.json").write_text('{"after": true}')
    _run(str(tools / "collect_candidate.py"), str(run), "stages 1-15", "--shipped", "--rename", "new default=stages 1-14",
         "--results", str(results))
    rows = [json.loads(l) for l in (results / "candidates.jsonl").read_text().splitlines()]
    assert [(r["candidate"], r["data"], r["metrics"]["AP"]) for r in rows] == [
        ("stages 1-14", "data/synth", 1.0), ("stages 1-15", "data/synth", 2.0),
        ("stages 1-14", "data/synth_style", 1.0), ("stages 1-15", "data/synth_style", 3.0),
        ("stages 1-15", "../shared/data/sketchyscene_samples", 4.0)]
    assert rows[1]["weights"] == "resources/weights"
    assert json.loads((results / "synthetic_test.json").read_text())["AP"] == 2.0
    assert json.loads((results / "detected_categories_before.json").read_text()) == {"before": True}
    assert json.loads((results / "detected_categories.json").read_text()) == {"after": True}

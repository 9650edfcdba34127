"""Every referring engine (GRM-Net, both baselines, the test double) honours one interface: grmnet.engine."""
import numpy as np
import pytest

from grmnet.baselines import make_tiny_baseline
from grmnet.engine import EngineInfo, ReferringEngine
from grmnet.errors import ExpressionError
from grmnet.formats import result_from_json, result_to_json
from grmnet.methods import load_engine
from grmnet.results import ReferredInstance, ReferringResult, SketchResult
from fakes import FakeEngine, make_test_sketch, make_tiny_weights

ENGINES = ["grmnet", "two-stage", "binary", "fake"]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    return {"grmnet": lambda: load_engine("grmnet", make_tiny_weights(root / "grm").parent, threshold=0.0),
            "two-stage": lambda: load_engine("two-stage", make_tiny_baseline(root / "ts", "two-stage").parent,
                                             threshold=0.0),
            "binary": lambda: load_engine("binary", make_tiny_baseline(root / "bin", "binary").parent, threshold=0.0),
            "fake": lambda: FakeEngine(threshold=0.0)}


@pytest.mark.parametrize("name", ENGINES)
def test_engine_conformance(name, engines):
    engine = engines[name]()
    assert isinstance(engine, ReferringEngine)
    info = engine.describe()
    assert isinstance(info, EngineInfo) and info.method == ("fake" if name == "fake" else name)
    assert info.threshold == engine.threshold == 0.0 and "sheep" in info.vocabulary

    image = make_test_sketch()
    h, w = image.shape[:2]
    out = engine.predict(image, ["the two sheep", "the tree on the left"], image_name="s.png")
    assert isinstance(out, SketchResult) and (out.image, out.width, out.height) == ("s.png", w, h)
    assert [r.expression for r in out.results] == ["the two sheep", "the tree on the left"]
    for r in out.results:
        assert isinstance(r, ReferringResult) and r.latency_ms >= 0
        assert r.understood.category in ("sheep", "tree")
        assert [i.score for i in r.instances] == sorted((i.score for i in r.instances), reverse=True)
        per_category: dict[str, list[int]] = {}
        for inst in r.instances:
            assert isinstance(inst, ReferredInstance)
            assert inst.ink.dtype == bool and inst.ink.shape == (h, w) and inst.region.shape == (h, w)
            assert inst.ink.any() and len(inst.box) == 4 and inst.box[0] <= inst.box[2]
            assert inst.label.endswith(f" {inst.index}")
            per_category.setdefault(inst.category, []).append(inst.index)
        for indices in per_category.values():
            assert sorted(indices) == list(range(1, len(indices) + 1))
        # the JSON edge round-trips the masks
        back = result_from_json(result_to_json(r))
        assert all(np.array_equal(a.ink, b.ink) for a, b in zip(r.instances, back.instances))

    # one encoding per sketch; candidates include what is returned, flagged
    sketch = engine.encode(image)
    assert engine.encode(image.copy()) is sketch
    ranked = engine.refer(sketch, "the two sheep", with_candidates=True)
    flags = ranked.returned_flags()
    assert sum(flags) == len(ranked.instances) and len(flags) == len(ranked.candidates)
    assert [c.score for c in ranked.candidates] == sorted((c.score for c in ranked.candidates), reverse=True)
    back = result_from_json(result_to_json(ranked, candidates=True))
    assert back.returned_flags() == flags

    # expressions: one tokenizer, clear errors, unknown words named
    assert engine.tokenize("Select thé 2 \x1b[31mCATS\x1b[0m!") == ["select", "the", "2", "cats"]
    assert engine.unknown_words("the zebra sheep") == ["zebra"]
    for bad in ("", "   ", "🐱🐶", "zebra giraffe"):
        with pytest.raises(ExpressionError):
            engine.predict(image, [bad])

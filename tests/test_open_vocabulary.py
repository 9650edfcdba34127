"""The shipped model reads what people type: words outside the template grammar, digits, wrappers, word order."""
import numpy as np
import pytest

from grmnet.methods import load_engine
from grmnet.modeling.language import grammar_vocabulary_words
from grmnet.weights import default_weights_path

EXAMPLE = default_weights_path().parent / "examples" / "scene_1.png"


@pytest.fixture(scope="module")
def engine():
    engine = load_engine("grmnet")
    if engine.cfg.language_model == "bilstm":
        pytest.skip("the shipped weights use the word-level BiLSTM")
    return engine


def _inks(result):
    return sorted((i.ink for i in result.instances), key=lambda m: int(np.nonzero(m)[1].min()))


def test_shipped_weights_use_the_offline_pretrained_encoder(engine):
    info = engine.describe()
    assert info.vocabulary == frozenset()                  # open vocabulary: no word is unknown
    assert engine.unknown_words("grab the 2 kitties please") == []


def test_words_outside_the_old_vocabulary_select_the_same_instances(engine):
    grammar = set(grammar_vocabulary_words())
    sketch = engine.encode(str(EXAMPLE))
    reference = engine.refer(sketch, "the two cats")
    assert [i.category for i in reference.instances] == ["cat", "cat"]
    for free in ("grab the 2 kitties", "please select both kitty cats"):
        assert set(engine.tokenize(free)) - grammar, "the test must use words the old model did not know"
        result = engine.refer(sketch, free)
        assert result.understood.category == "cat" and result.understood.count == "two"
        got, want = _inks(result), _inks(reference)
        assert len(got) == len(want)
        for a, b in zip(got, want):            # the same two cats (masks may differ by a few pixels)
            assert (a & b).sum() / (a | b).sum() >= 0.9


def test_word_order_changes_the_result(engine):
    sketch = engine.encode(str(EXAMPLE))
    a = engine.refer(sketch, "the cat left of the tree", threshold=0.0)
    b = engine.refer(sketch, "the tree left of the cat", threshold=0.0)
    assert a.understood.category == "cat" and b.understood.category == "tree"
    assert a.instances and a.instances[0].category == "cat"
    assert not b.instances or b.instances[0].category != "cat"

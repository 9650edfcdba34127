"""The returned set: score threshold plus the target count the expression states (pure rules)."""
import dataclasses
import pytest

from grmnet.selection import NO_COUNT, TargetCount, choose_instances, stated_count


def test_stated_count_follows_the_grammar():
    assert stated_count("the two cats") == TargetCount(2, 2)
    assert stated_count("the five trees on the left") == TargetCount(5, 5)
    assert stated_count("both the two rabbits") == TargetCount(2, 2)
    assert stated_count("both the tree") == TargetCount(2, 2)       # two far-apart trees (a grammar quirk)
    assert stated_count("all the four trees around the house") == TargetCount(4, 4)
    assert stated_count("all the trees") == TargetCount(3)          # several clusters or 3+
    assert stated_count("all the grass") == TargetCount(3)
    assert stated_count("the  trees") == TargetCount(6)             # blank numeral of 6+
    assert stated_count("all the  cows") == TargetCount(6)
    assert stated_count("") == NO_COUNT
    assert stated_count("the two cats").exact == 2 and stated_count("all the trees").exact is None


def test_the_head_noun_states_a_count():
    assert stated_count("the cat") == TargetCount(1, 1)
    assert stated_count("the topmost tree on the left of the car") == TargetCount(1, 1)
    assert stated_count("the person in front of the  houses") == TargetCount(1, 1)   # reference blank ignored
    assert stated_count("the cat near the two trees") == TargetCount(1, 1)  # a number in the reference is not the target's
    assert stated_count("the trees") == TargetCount(2)
    assert stated_count("the people on the right") == TargetCount(2)
    assert stated_count("the sheep") == TargetCount(1)                      # singular and plural alike
    assert stated_count("the cat", nouns=False) == NO_COUNT
    assert stated_count("the trees", nouns=False) == NO_COUNT
    assert stated_count("the red thing") == NO_COUNT                        # no category noun


def test_a_noun_in_the_reference_phrase_is_not_the_target():
    """Free phrasing may name only the reference: its category and its count are not the target's."""
    from grmnet.selection import understand

    assert understand("the one near the two trees").category is None
    assert stated_count("the one near the two trees") == NO_COUNT
    assert stated_count("everything on the left of the car") == NO_COUNT
    animal = understand("the animal next to the house")                        # a broader word: its members
    assert animal.category == "animal" and {"cat", "dog", "sheep"} <= set(animal.categories)
    assert "house" not in animal.categories and animal.count == "one"
    assert understand("grab the vehicles").categories == ("bus", "truck", "car")
    assert understand("the kitty").categories == ("cat",)
    assert understand("the cat near the animals").categories == ("cat",)       # the reference's word is not it
    assert understand("grab the kitty next to the tree").category == "cat"      # the target comes first
    assert understand("the cat with the two trees").count == "one"
    assert understand("each of the trees").category == "tree"                  # 'of' alone is no relation
    assert stated_count("all of the three sheep") == TargetCount(3, 3)


def test_choose_without_count_is_the_threshold():
    scores = [0.2, 0.9, 0.75, 0.4]
    assert choose_instances(scores, 0.7) == [1, 2]
    assert choose_instances(scores, 0.7, TargetCount(3, 3)) == [1, 2]              # counting off (no floor)
    assert choose_instances(scores, 0.7, NO_COUNT, count_floor=0.3) == [1, 2]


def test_choose_fills_and_caps_the_stated_count():
    scores = [0.2, 0.9, 0.75, 0.4]
    assert choose_instances(scores, 0.95, TargetCount(2, 2), count_floor=0.3) == [1, 2]     # filled from below
    assert choose_instances(scores, 0.7, TargetCount(4, 4), count_floor=0.3) == [1, 2, 3]   # not below the floor
    assert choose_instances(scores, 0.1, TargetCount(2, 2), count_floor=0.05) == [1, 2]     # capped to the best two
    assert choose_instances(scores, 0.1, TargetCount(1, 1), count_floor=0.05) == [1]        # "the cat": the best one
    assert choose_instances(scores, 0.8, TargetCount(2), count_floor=0.3) == [1, 2]         # "the cats": 2 or more
    assert choose_instances(scores, 0.1, TargetCount(2), count_floor=0.05) == [1, 2, 3, 0]  # no upper bound
    assert choose_instances([], 0.5, TargetCount(2, 2), count_floor=0.1) == []


def test_predictor_applies_the_stated_count(tmp_path, monkeypatch):
    """With a count floor, 'the two ...' returns the best two (filled from below the threshold), 'the cat' the
    instances above the threshold, and apply_count=False (what evaluation ranks for AP) all of them."""
    import numpy as np
    import torch

    from grmnet.config import InferenceConfig
    from grmnet.prediction import Predictor
    from grmnet.weights import save_inference
    from fakes import make_tiny_weights

    make_tiny_weights(tmp_path)
    save_inference(tmp_path, InferenceConfig(score_threshold=0.8, count_floor=0.3))
    p = Predictor(tmp_path)
    image = np.full((256, 256), 255, np.uint8)
    for x in (20, 80, 140, 200):          # four inked squares, one per scored box
        image[100:140, x:x + 30] = 0
    sketch = p.encode(image)
    s = sketch.inputs.scale
    boxes = torch.tensor([[x, 100, x + 30, 140] for x in (20, 80, 140, 200)], dtype=torch.float) * s
    scores = torch.tensor([0.5, 0.9, 0.2, 0.35])
    fake = {"boxes": boxes, "scores": scores, "labels": torch.ones(4, dtype=torch.long),
            "masks": torch.ones((4, 1, 28, 28))}
    monkeypatch.setattr(p.model, "refer", lambda *a, **k: [fake])

    def xs(result):
        return sorted(round(i.box[0]) for i in result.instances)

    assert xs(p.refer(sketch, "the two cats")) == [20, 80]             # 0.9, then 0.5 from below
    assert xs(p.refer(sketch, "the three cats")) == [20, 80, 200]      # 0.35 >= floor, 0.2 is not
    assert xs(p.refer(sketch, "the cat")) == [80]                      # no count: the threshold
    ranked = p.refer(sketch, "the two cats", with_candidates=True)
    assert sorted(round(c.box[0]) for c in ranked.candidates) == [20, 80, 140, 200]
    assert [round(c.box[0]) for c, r in zip(ranked.candidates, ranked.returned_flags()) if r] == [80, 20]
    assert xs(p.refer(sketch, "the cats")) == [80]                     # head noun rule off
    p.inference = dataclasses.replace(p.inference, count_nouns=True)
    assert xs(p.refer(sketch, "the cats")) == [20, 80]                 # plural: two or more
    assert xs(p.refer(sketch, "the cat", threshold=0.4)) == [80]       # singular: the best one


def _pets_and_house():
    """Three objects: a cat, a dog and a house (class probabilities [3, classes])."""
    import torch

    from grmnet.data.categories import CATEGORIES, label_of
    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[0, label_of("cat")], probs[0, 0] = 0.9, 0.1
    probs[1, label_of("dog")], probs[1, 0] = 0.8, 0.2
    probs[2, label_of("house")], probs[2, 0] = 0.9, 0.1
    return [(x, 100, x + 30, 140) for x in (20, 80, 140)], probs


def test_a_broader_word_scores_by_its_members(tmp_path):
    """Named scoring of 'the animals' (resolve_groups off): each candidate's probability of being referred as ANY
    animal (summed over the members; labelled with the likeliest), so a cat and a dog both count and the house
    does not."""
    from grmnet.config import InferenceConfig
    from grmnet.data.categories import label_of
    from fakes import predictor_with_detections

    boxes, probs = _pets_and_house()
    probs[0, label_of("cat")], probs[0, label_of("dog")], probs[0, 0] = 0.45, 0.4, 0.15    # an animal, unsure which
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, named_category=True, resolve_groups=False), boxes, probs)
    found = p.refer(sketch, "the animals").instances
    assert sorted((round(i.box[0]), i.category) for i in found) == [(20, "cat"), (80, "dog")]
    assert round(next(i.score for i in found if i.category == "cat"), 2) == 0.85
    assert [i.category for i in p.refer(sketch, "the building").instances] == ["house"]
    assert p.refer(sketch, "the vehicles").instances == []


def test_a_broader_word_alone_asks_for_each_member(tmp_path):
    """With resolve_groups, 'the pets' runs one batched pass with each member's own expression ('all the cats',
    'all the dogs', 'all the rabbits') and keeps what each finds of its member; with more words ('the pets on the
    left') the expression itself is asked."""
    from grmnet.config import InferenceConfig
    from grmnet.data.categories import label_of
    from grmnet.extremes import names_whole_category
    from fakes import predictor_with_detections

    assert names_whole_category("grab all the animals") and not names_whole_category("the animals on the left")
    assert not names_whole_category("the biggest animal") and not names_whole_category("the pets near the house")
    boxes, probs = _pets_and_house()
    p, sketch, asked = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, resolve_groups=True),
        boxes, probs)
    found = p.refer(sketch, "grab the pets").instances
    assert asked == [3]                                             # cats, dogs, rabbits in one batch
    assert sorted((round(i.box[0]), i.category) for i in found) == [(20, "cat"), (80, "dog")]
    assert p.refer(sketch, "the vehicles").instances == []
    asked.clear()
    p.refer(sketch, "the pets on the left")
    assert asked == [1]                                             # the expression itself
    # 'all the pets' states three or more, but a member's own expression is sure of its instances: the third is
    # not filled from below the threshold (a 0.55 'rabbit' that is really the house)
    probs[2, label_of("rabbit")] = 0.55
    found = p.refer(sketch, "all the pets").instances
    assert sorted(i.category for i in found) == ["cat", "dog"]


def test_a_bare_noun_phrase_gets_the_grammars_article():
    from grmnet.selection import with_article
    assert with_article("cats") == "the cats"
    assert with_article("Cat") == "the cat"
    assert with_article("2 cats on the left") == "the 2 cats on the left"
    assert with_article("select big trees") == "select the big trees"
    assert with_article("Could you grab cats?") == "could you grab the cats"
    assert with_article("cat near the tree") == "the cat near the tree"      # the reference keeps its own
    for typed in ("the cats", "all dogs", "both cats", "a cat", "every tree", "the one near the tree", "hello"):
        assert with_article(typed) == typed                                   # determined already, or no noun


def test_predictor_reads_a_bare_noun_with_the_article(tmp_path):
    """With add_article the network reads 'the cats' for 'cats' (what it was trained on); the count rule still
    reads what was typed, and off the network reads the text as typed."""
    import dataclasses

    from grmnet.config import InferenceConfig
    from fakes import predictor_with_detections

    boxes, probs = _pets_and_house()
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, add_article=True), boxes, probs)
    p.refer(sketch, "cats on the left")
    assert "the cats on the left" in sketch.outputs and "cats on the left" not in sketch.outputs
    assert p.refer(sketch, "cat").understood.count == "one"
    p.inference = dataclasses.replace(p.inference, add_article=False)
    p.refer(sketch, "dogs")
    assert "dogs" in sketch.outputs and "the dogs" not in sketch.outputs


def test_an_and_joins_target_phrases_not_references_or_adjectives():
    from grmnet.selection import split_conjunction
    assert split_conjunction("the car and the cat") == ["the car", "the cat"]
    assert split_conjunction("Grab cats and dogs!") == ["grab cats", "dogs"]
    assert split_conjunction("the two sheep and the dog on the left") == ["the two sheep", "the dog on the left"]
    for one in ("the black and white cow", "the dog between the house and the tree", "the cat", "the cat and"):
        assert split_conjunction(one) == [one]
    assert split_conjunction("the car, the cat") == ["the car", "the cat"]
    assert split_conjunction("car + cat & dog") == ["car", "cat", "dog"]
    assert split_conjunction("the cat, the dog, and the bird") == ["the cat", "the dog", "the bird"]
    for one in ("the cat, the one on the left", "the big, fluffy cloud", "the cat,"):
        assert split_conjunction(one) == [one]


def test_predictor_returns_every_phrase_of_a_conjunction_once(tmp_path):
    """'the cat and the dog': each phrase referred on its own, joined, labelled per category; an object two
    phrases both name comes back once; AP candidates hold every candidate with the returned ones flagged."""
    from grmnet.config import InferenceConfig
    from fakes import box_lefts as xs, predictor_with_detections

    boxes, probs = _pets_and_house()
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True), boxes, probs)
    result = p.refer(sketch, "the cat and the dog")
    assert sorted(xs(result)) == [20, 80] and [i.label for i in result.instances] == ["cat 1", "dog 1"]
    assert set(result.understood.categories) == {"cat", "dog"}
    assert xs(p.refer(sketch, "the cat and the kitty")) == [20]                 # one cat, named twice
    with_candidates = p.refer(sketch, "the cat and the dog", with_candidates=True)
    assert sum(with_candidates.returned_flags()) == 2
    assert sorted(round(c.box[0]) for c in with_candidates.candidates) == [20, 80, 140]     # each object once


def test_typing_slips_in_category_nouns_are_fixed_and_real_words_kept():
    from grmnet.selection import correct_nouns, one_edit_apart
    assert one_edit_apart("brids", "birds") and one_edit_apart("ccar", "car") and one_edit_apart("cat", "cta")
    assert not one_edit_apart("cat", "cat") and not one_edit_apart("cat", "dog")
    words = {"bat", "crow", "the", "on", "left"}.__contains__            # what the encoder's vocabulary holds
    assert correct_nouns("the brids on the left", words) == "the birds on the left"
    assert correct_nouns("Grab the 2 catts!", words) == "grab the 2 cats"
    assert correct_nouns("the treee", words) == "the tree"           # a doubled letter, rather than "trees"
    assert correct_nouns("the trese", words) == "the trees"          # two neighbours swapped
    assert correct_nouns("the hous", words) == "the house"           # a letter left out, rather than changed (hogs)
    for kept in ("the bat", "the crow", "the tre", "the cass", "the cat"):   # a word, too short, cars/cats/cabs, fine
        assert correct_nouns(kept, words) == kept


def test_predictor_reads_the_fixed_noun_and_reports_what_was_typed(tmp_path):
    import dataclasses

    from grmnet.config import InferenceConfig
    from fakes import box_lefts as xs, predictor_with_detections

    boxes, probs = _pets_and_house()
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, correct_spelling=True),
        boxes, probs)
    result = p.refer(sketch, "the hosue")
    assert result.expression == "the hosue" and result.understood.category == "house" and xs(result) == [140]
    assert p.understand("the hosue").category == "house"                # what the query bar shows before asking
    p.inference = dataclasses.replace(p.inference, correct_spelling=False)
    assert p.refer(sketch, "the hosue").understood.category is None


def test_adaptive_threads_leave_other_processes_their_cores():
    from grmnet.runtime import AdaptiveThreads
    policy = AdaptiveThreads()
    policy.cores = 2
    # (machine busy CPU-s, own CPU-s, wall s): one other process kept a core busy for the whole second
    assert policy.others_busy((11.0, 5.0, 101.0), (9.0, 4.0, 100.0)) == pytest.approx(1.0)
    # only this process was busy: nobody else
    assert policy.others_busy((12.0, 6.0, 101.0), (10.0, 4.0, 100.0)) == pytest.approx(0.0)
    assert AdaptiveThreads(fixed=3).apply() == 3


def test_adaptive_threads_take_the_count_measured_fastest_per_stage():
    from grmnet.runtime import AdaptiveThreads, candidate_thread_counts
    assert candidate_thread_counts(1) == [1]
    assert candidate_thread_counts(2) == [1, 2]
    assert candidate_thread_counts(8) == [1, 4, 8]
    policy = AdaptiveThreads(fixed=None)
    policy.fixed = None                                  # whatever GRMNET_THREADS says
    # first run of a stage: all cores, not timed (it pays lazy initialisation)
    assert policy.choose("heads", 2) == 2
    policy.record("heads", 2, 2, 9.0)
    # then each count a few times, fewest threads first
    seen = []
    for _ in range(2 * policy.SAMPLES):
        n = policy.choose("heads", 2)
        seen.append(n)
        policy.record("heads", 2, n, 0.020 if n == 1 else 0.030)     # one thread is faster here
    assert seen == [1] * policy.SAMPLES + [2] * policy.SAMPLES
    assert policy.choose("heads", 2) == 1 and policy.chosen(2) == {"heads": 1}
    # another stage is measured on its own: there two threads win
    policy.record("backbone", 2, 2, 1.0)
    for _ in range(2 * policy.SAMPLES):
        n = policy.choose("backbone", 2)
        policy.record("backbone", 2, n, 0.100 if n == 1 else 0.060)
    assert policy.chosen(2) == {"heads": 1, "backbone": 2}
    # now and then the other count is re-tried, and the choice follows a machine that changed
    choices = []
    for _ in range(4 * policy.EXPLORE_EVERY):
        n = policy.choose("heads", 2)
        choices.append(n)
        policy.record("heads", 2, n, 0.040 if n == 1 else 0.030)     # one thread got slower
    assert choices[0] == 1 and choices[-1] == 2
    # with one core available only one thread is possible, and those runs are kept apart from idle ones
    assert policy.choose("heads", 1) == 1
    assert policy.chosen(1) == {}
    assert AdaptiveThreads(fixed=3).choose("heads", 2) == 3


def test_tokenizer_reads_what_people_type():
    from grmnet.text import tokenize
    assert tokenize("Thé two CATS!") == ["the", "two", "cats"]
    assert tokenize("the \x1b[1mcat\x1b[0m") == ["the", "cat"]
    assert tokenize("select 2 dogs") == ["select", "2", "dogs"]
    assert tokenize("🐱🐶") == []
    assert stated_count("the 3 trees") == TargetCount(3, 3)


def test_crowded_counts_are_read_and_not_capped():
    """Crowded scenes: 'the seven grasses' states 7, and every one of 9 confident trees comes back for
    'all the trees' (no cap below what the scene holds)."""
    assert stated_count("the seven grasses") == TargetCount(7, 7)
    assert stated_count("all the 8 trees") == TargetCount(8, 8)
    scores = [0.99, 0.97, 0.95, 0.95, 0.93, 0.92, 0.91, 0.91, 0.9, 0.2]
    assert len(choose_instances(scores, 0.9, stated_count("all the trees"), 0.5)) == 9
    # fewer than stated pass the threshold: the next best down to the floor fill the count
    scores = [0.99, 0.95, 0.93, 0.8, 0.7, 0.6, 0.55, 0.3]
    assert len(choose_instances(scores, 0.9, stated_count("the seven grasses"), 0.5)) == 7


def test_everything_is_asked_only_without_a_narrower_word():
    from grmnet.selection import names_everything
    for every in ("everything", "Select everything!", "select all", "grab all the objects", "every object",
                  "all of them", "everything in the picture"):
        assert names_everything(every), every
    for narrower in ("all the trees", "the objects on the left", "two objects", "the sun and everything", "the",
                     "select", "the cat"):
        assert not names_everything(narrower), narrower


def test_predictor_returns_every_object_of_the_partition_for_everything(tmp_path):
    """'select everything': the sketch's whole-sketch partition as the result (the same layers as "Split into
    layers"), with or without own ink, and the model is not asked."""
    import numpy as np

    from grmnet.config import InferenceConfig
    from grmnet.partition import Detection
    from fakes import box_lefts as xs, predictor_with_detections

    boxes, probs = _pets_and_house()
    p, sketch, asked = predictor_with_detections(tmp_path, InferenceConfig(), boxes, probs)
    p.detect_all = lambda s: [Detection(c, 0.9, tuple(float(v) for v in b), np.ones((b[3] - b[1], b[2] - b[0]),
                                                                                   np.float32), (b[0], b[1]))
                              for c, b in zip(("cat", "dog", "house"), boxes)]
    for own_ink in (False, True):
        p.own_ink = own_ink
        result = p.refer(sketch, "all the objects")            # (words the tiny model knows)
        assert sorted(xs(result)) == [20, 80, 140] and asked == []
        assert sorted(i.label for i in result.instances) == ["cat 1", "dog 1", "house 1"]
        assert not np.logical_and(result.instances[0].ink, result.instances[1].ink).any()

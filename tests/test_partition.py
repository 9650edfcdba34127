"""The ink partition on hand-made sketches: strokes, junctions, ownership, duplicates (numpy only, no model)."""
import cv2
import numpy as np
import pytest

from grmnet.partition import (Detection, InkPartition, PartitionConfig, another_category, bridge_pieces, claim_owner, continue_bars,
                              depth_order, junction_bars, junction_crossings, object_of, paste_mask, piece_adjacency, partition_ink, spread_to_soft_ink,
                              stroke_pieces, suppress_duplicates, pixel_claims, thin)

SIZE = (200, 300)          # (H, W): small images; configs below are unscaled (750 px sizes scale down)


def config(**kw) -> PartitionConfig:
    """Sizes given at this test's own scale: undo the 750-px scaling partition_ink applies."""
    s = 750.0 / max(SIZE)
    base = PartitionConfig(**kw)
    return PartitionConfig(**{**base.__dict__, "claim_radius": base.claim_radius * s,
                              "stray_distance": base.stray_distance * s, "min_ink": int(round(base.min_ink * s * s))})


def box_of(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def detection(category: str, filled: np.ndarray, score: float = 0.9, box=None) -> Detection:
    """A detection whose probability is 1 on `filled` (bool [H, W]) and 0 elsewhere, boxed to it (or `box`)."""
    return Detection(category, score, box or box_of(filled), filled.astype(np.float32))


def circle(cx, cy, r, thickness=2, filled=False) -> np.ndarray:
    img = np.zeros(SIZE, np.uint8)
    cv2.circle(img, (cx, cy), r, 1, -1 if filled else thickness)
    return img.astype(bool)


def line(p0, p1, thickness=2) -> np.ndarray:
    img = np.zeros(SIZE, np.uint8)
    cv2.line(img, p0, p1, 1, thickness)
    return img.astype(bool)


# ---- building blocks ---------------------------------------------------------------------------------------

def test_paste_mask_matches_torchvision():
    torch = pytest.importorskip("torch")
    from torchvision.models.detection.roi_heads import paste_masks_in_image
    rng = np.random.default_rng(0)
    mask = rng.random((28, 28)).astype(np.float32)
    box = (40.3, 25.8, 161.2, 120.4)
    expected = paste_masks_in_image(torch.from_numpy(mask)[None, None], torch.tensor([box]), SIZE, padding=1)[0, 0]
    prob, (x, y) = paste_mask(mask, box, SIZE)
    pasted = Detection("cat", 1.0, box, prob, (x, y)).full_prob(SIZE)
    assert np.abs(pasted - expected.numpy()).max() < 0.08        # bilinear resize conventions differ slightly
    assert np.abs(pasted - expected.numpy()).mean() < 0.01


def test_paste_mask_clips_to_the_image():
    prob, (x, y) = paste_mask(np.ones((28, 28), np.float32), (-20, -10, 50, 40), SIZE)
    assert (x, y) == (0, 0) and prob.shape[0] <= 45 and prob.shape[1] <= 55


def test_thin_gives_a_one_pixel_skeleton_that_keeps_the_shape():
    bar = np.zeros(SIZE, bool)
    bar[50:57, 20:200] = True
    skeleton = thin(bar)
    assert skeleton.sum() > 150 and skeleton.sum(axis=0)[30:190].max() == 1     # one pixel thick
    ring = circle(150, 100, 40, thickness=5)
    n, _ = cv2.connectedComponents(thin(ring).astype(np.uint8))
    assert n - 1 == 1                                                         # a ring stays one loop


def test_stroke_pieces_cut_a_t_junction_into_three_branches_and_a_junction():
    t = line((20, 50), (220, 50), 3) | line((120, 50), (120, 180), 3)
    cut = stroke_pieces(t)
    labels, n = cut.pieces, cut.n_pieces
    assert ((labels > 0) == t).all() and ((cut.sections > 0) == t).all()     # every ink pixel, nothing else
    assert (cut.piece_of_section[cut.sections] == labels).all()
    big = [i for i in range(1, n + 1) if (labels == i).sum() > 60]
    assert len(big) == 3                                                      # left, right, stem
    assert labels[50, 30] != labels[50, 210] != labels[170, 120]


def test_junction_bars_find_the_straight_bar_and_the_stem_of_a_t():
    t = line((20, 50), (220, 50), 3) | line((120, 50), (120, 180), 3)
    cut = stroke_pieces(t)
    bars = junction_bars(cut, radius=10)
    assert len(bars) == 1
    left, right, stem = cut.pieces[50, 30], cut.pieces[50, 210], cut.pieces[170, 120]
    assert sorted(bars[0][:2]) == sorted([left, right]) and bars[0][2] == stem
    # a Y (three branches 120 degrees apart) has no straight bar: nothing to continue
    y = line((120, 100), (120, 20), 3) | line((120, 100), (40, 150), 3) | line((120, 100), (200, 150), 3)
    assert len(junction_bars(stroke_pieces(y), radius=10)) == 0


def test_continue_bars_gives_a_broken_bar_to_the_object_in_front_of_the_stem():
    bars = np.array([[1, 2, 3]])                 # pieces 1 and 2 are the bar, 3 the stem
    owner = np.array([-1, 0, 1, 1])              # the object behind (1) took bar piece 2 along with its stem
    fits = np.ones((4, 2), bool)
    assert continue_bars(bars, owner, fits, depth=np.array([1, 0])).tolist() == [-1, 0, 0, 1]
    # object 0 behind the stem's object: a bar cannot be its outline passing in front; nothing moves
    assert continue_bars(bars, owner, fits, depth=np.array([0, 1])).tolist() == [-1, 0, 1, 1]
    # the piece outside object 0's box: nothing moves
    fits[2, 0] = False
    assert continue_bars(bars, owner, fits, depth=np.array([1, 0])).tolist() == [-1, 0, 1, 1]


def test_junction_crossings_pair_the_two_straight_strokes_of_an_x():
    x = line((20, 100), (220, 100), 3) | line((120, 20), (120, 180), 3)
    cut = stroke_pieces(x)
    crossings = junction_crossings(cut, radius=10)
    assert len(crossings) == 1
    left, right, top, bottom = (cut.pieces[100, 30], cut.pieces[100, 210], cut.pieces[30, 120],
                                cut.pieces[170, 120])
    assert sorted(sorted(pair) for pair in crossings[0].tolist()) == sorted([sorted([left, right]),
                                                                             sorted([top, bottom])])
    # a T has three branches: no crossing
    assert len(junction_crossings(stroke_pieces(line((20, 50), (220, 50), 3) | line((120, 50), (120, 180), 3)),
                                  radius=10)) == 0


def test_bridge_pieces_give_a_stroke_passing_over_an_object_back_to_its_owner():
    pairs = np.array([[1, 2], [2, 3]])           # 1 - 2 - 3 one straight stroke; object 1 took the middle piece
    owner = np.array([-1, 0, 1, 0])
    fits = np.ones((4, 2), bool)
    assert bridge_pieces(pairs, owner, fits).tolist() == [-1, 0, 0, 0]
    fits[2, 0] = False                           # outside the stroke owner's box: nothing moves
    assert bridge_pieces(pairs, owner, fits).tolist() == [-1, 0, 1, 0]
    # the two ends belong to different objects (or nobody): the middle piece stays
    assert bridge_pieces(pairs, np.array([-1, 0, 1, 1]), np.ones((4, 2), bool)).tolist() == [-1, 0, 1, 1]
    assert bridge_pieces(pairs, np.array([-1, -1, 1, -1]), np.ones((4, 2), bool)).tolist() == [-1, -1, 1, -1]


def test_a_line_crossing_an_object_stays_with_the_line():
    # a road edge (long straight line) drawn over a bush (circle): inside the bush's coarse mask, the line's piece
    # between the two crossings is still the road's
    bush_fill = circle(150, 100, 40, filled=True)
    bush = circle(150, 100, 40, thickness=3)
    road = line((10, 100), (290, 100), 3)
    ink = bush | road
    blur = lambda m: cv2.GaussianBlur(m.astype(np.float32), (0, 0), 3)
    road_region = np.zeros(SIZE, bool)
    road_region[92:109, :] = True
    dets = [Detection("grass", 0.9, (108, 58, 193, 143), blur(bush_fill)),
            Detection("road", 0.9, (5, 90, 295, 111), blur(road_region) * 0.6)]
    inside = road & circle(150, 100, 34, filled=True)
    names = lambda part: [o.category for o in part.objects]
    on = partition_ink(ink, dets, config())
    assert (on.ink(names(on).index("road")) & inside).sum() / inside.sum() > 0.9
    off = partition_ink(ink, dets, config(bridge_crossings=False))
    assert (off.ink(names(off).index("grass")) & inside).sum() / inside.sum() > 0.5   # what the rule fixes


def test_an_instance_on_an_object_detected_as_another_category_is_recognised():
    owner = np.full(SIZE, -1, np.int32)
    owner[10:40, 10:40], owner[100:150, 100:150] = 0, 1
    objects = [Detection("cat", 0.97, (10, 10, 40, 40), np.ones((30, 30), np.float32), (10, 10)),
               Detection("tree", 0.9, (100, 100, 150, 150), np.ones((50, 50), np.float32), (100, 100))]
    part = InkPartition(owner, objects, depth_order(objects))
    on_cat = np.zeros(SIZE, bool)
    on_cat[12:38, 12:60] = True                       # mostly the cat's ink, some paper
    assert object_of(part, on_cat) == 0
    assert another_category(part, on_cat, 0.69, ("bird",), margin=0.2)        # "the bird" at 0.69 on a 0.97 cat
    assert not another_category(part, on_cat, 0.9, ("bird",), margin=0.2)     # the query sure enough of itself
    assert not another_category(part, on_cat, 0.5, ("cat", "dog"), margin=0.2)  # a category the query names
    nowhere = np.zeros(SIZE, bool)
    nowhere[60:90, 60:90] = True
    assert object_of(part, nowhere) is None and not another_category(part, nowhere, 0.1, ("bird",), 0.2)


def test_piece_adjacency_lists_touching_pieces_once():
    labels = np.array([[1, 1, 0, 2],
                       [0, 3, 0, 2],
                       [0, 0, 4, 0]])
    assert piece_adjacency(labels).tolist() == [[1, 3], [2, 4], [3, 4]]


def test_depth_order_puts_the_sky_behind_and_lower_objects_in_front():
    def obj(cat, y1):
        return Detection(cat, 0.9, (0, 0, 10, y1), np.zeros((1, 1), np.float32))
    objects = [obj("tree", 300), obj("cloud", 90), obj("sun", 80), obj("dog", 400), obj("house", 250)]
    depth = depth_order(objects)
    assert [objects[i].category for i in np.argsort(depth)] == ["sun", "cloud", "house", "tree", "dog"]


def test_claim_owner_front_wins_near_ties_and_strong_claims_win_otherwise():
    claims = np.array([[0.9, 0.9, 0.3, 0.1],      # object 0: behind
                       [0.8, 0.2, 0.9, 0.2]])     # object 1: in front
    owner = claim_owner(claims, np.array([0, 1]), threshold=0.4, front_margin=0.15)
    assert owner.tolist() == [1, 0, 1, -1]


def test_duplicates_are_suppressed_and_distinct_objects_kept():
    body = circle(80, 100, 40, filled=True)
    other = circle(220, 100, 40, filled=True)
    ink = circle(80, 100, 40) | circle(220, 100, 40)
    objects = [detection("cat", body, 0.9), detection("dog", body, 0.95), detection("cat", other, 0.8),
               detection("cat", circle(80, 100, 30, filled=True), 0.97)]          # lies inside the dog
    ys, xs = np.nonzero(ink)
    keep = suppress_duplicates(objects, pixel_claims((ys, xs), objects, SIZE, 2), config())
    assert keep == [1, 2]


# ---- the partition -----------------------------------------------------------------------------------------

def test_a_stroke_mostly_inside_one_object_joins_it_whole():
    body = circle(100, 100, 40)
    tail = line((138, 90), (200, 40), 2)                    # a thin tail far outside the coarse mask...
    ink = body | tail
    # ...but inside the box: the box head sees the whole object, the 28x28 mask misses thin parts
    part = partition_ink(ink, [detection("cat", circle(100, 100, 41, filled=True), box=box_of(ink))], config())
    assert len(part) == 1 and part.ink(0).sum() == ink.sum()


def test_an_occluded_object_keeps_its_strokes_and_the_front_object_owns_the_shared_contour():
    # a house (rectangle) drawn first, a tree (circle) in front of it whose outline cuts the rectangle:
    # the rectangle's strokes stop at the circle (T-junctions), as a pen drawing of occlusion does
    front_fill = circle(200, 120, 50, filled=True)
    front = circle(200, 120, 50, thickness=3)
    back = np.zeros(SIZE, np.uint8)
    cv2.rectangle(back, (40, 40), (190, 170), 1, 3)
    back = back.astype(bool) & ~front_fill
    back_fill = np.zeros(SIZE, np.uint8)
    cv2.rectangle(back_fill, (40, 40), (190, 170), 1, -1)
    back_fill = back_fill.astype(bool) & ~front_fill
    ink = front | back
    # coarse masks: each silhouette blurred, both claim the shared border
    blur = lambda m: cv2.GaussianBlur(m.astype(np.float32), (0, 0), 4)
    house = Detection("house", 0.9, (40, 40, 191, 171), blur(back_fill | back))
    tree = Detection("tree", 0.9, (150, 70, 251, 171), blur(front_fill))
    part = partition_ink(ink, [house, tree], config())
    names = [o.category for o in part.objects]
    h, t = part.ink(names.index("house")), part.ink(names.index("tree"))
    assert not (h & t).any()
    assert (t & front).sum() / front.sum() > 0.97          # the tree's whole outline, shared contour included
    assert (h & back).sum() / back.sum() > 0.97
    assert ((part.owner >= 0) == ink).all()                  # every stroke is someone's


def test_touching_objects_are_split_at_the_junction():
    left, right = circle(100, 100, 50), circle(202, 100, 50)    # outlines touching at x = 150
    ink = left | right
    assert cv2.connectedComponents(ink.astype(np.uint8))[0] == 2    # one stroke
    dets = [detection("sheep", circle(100, 100, 52, filled=True)),
            detection("sheep", circle(202, 100, 52, filled=True))]
    part = partition_ink(ink, dets, config())
    assert len(part) == 2
    for i, outline in enumerate((left, right)):
        owned = part.ink(int(np.argmax([(part.ink(k) & outline).sum() for k in range(2)])))
        assert (owned & outline).sum() / outline.sum() > 0.95
        assert (owned & outline).sum() / owned.sum() > 0.95


def test_unclaimed_strokes_stay_in_the_sketch():
    ground = line((0, 190), (299, 190), 2)                     # a ground line nobody detected
    sheep = circle(150, 150, 38)
    ink = ground | sheep
    part = partition_ink(ink, [detection("sheep", circle(150, 150, 40, filled=True))], config())
    assert part.ink(0).sum() >= sheep.sum() * 0.97
    assert (part.owner[ground] == -1).mean() > 0.8


def test_a_stroke_nobody_claims_joins_the_one_object_it_nearly_touches_inside_its_box():
    sheep = circle(150, 100, 30)
    whisker = line((187, 95), (187, 105), 1)                   # 6 px off the mask: no claim, but close to the sheep
    far = line((60, 95), (60, 105), 1)                         # beyond the sheep's box
    ink = sheep | whisker | far
    part = partition_ink(ink, [detection("sheep", circle(150, 100, 31, filled=True))], config(stray_distance=8))
    assert (part.owner[whisker] == 0).all() and (part.owner[far] == -1).all()
    off = partition_ink(ink, [detection("sheep", circle(150, 100, 31, filled=True))], config(stray_distance=0))
    assert (off.owner[whisker] == -1).all()
    # a stroke between two objects that both lie within reach stays in the sketch: neither explains it alone
    left, right = circle(100, 100, 30), circle(172, 100, 30)
    between = line((136, 95), (136, 105), 1)
    part = partition_ink(left | right | between, [detection("sheep", circle(100, 100, 31, filled=True)),
                                                  detection("sheep", circle(172, 100, 31, filled=True))],
                         config(stray_distance=8, box_margin=0.2))
    assert (part.owner[between] == -1).all() and len(part) == 2


def test_objects_left_with_a_few_pixels_and_weak_detections_are_dropped():
    ink = circle(100, 100, 40)
    dets = [detection("cat", circle(100, 100, 42, filled=True), 0.9),
            detection("dog", circle(240, 100, 20, filled=True), 0.9),       # over blank paper
            detection("cow", circle(100, 100, 42, filled=True), 0.2)]       # below min_score
    part = partition_ink(ink, dets, config())
    assert [o.category for o in part.objects] == ["cat"]
    assert part.owner.max() == 0 and isinstance(part, InkPartition)


def test_no_detections_or_no_ink():
    assert len(partition_ink(circle(50, 50, 20), [], config())) == 0
    empty = partition_ink(np.zeros(SIZE, bool), [detection("cat", circle(100, 100, 42, filled=True))], config())
    assert (empty.owner == -1).all()


def test_soft_edges_follow_the_nearest_ink():
    ink = np.zeros((5, 9), bool)
    ink[2, 1:3] = True
    ink[2, 6:8] = True
    owner = np.full(ink.shape, -1, np.int32)
    owner[2, 1:3] = 0                                           # the right stroke is unclaimed
    soft = np.zeros_like(ink)
    soft[1:4, 0:9] = True
    out = spread_to_soft_ink(owner, ink, soft, max_distance=1.5)
    assert (out[1:4, 0:4] == 0).all() and (out[1:4, 5:9] == -1).all()
    assert (out[0] == -1).all()


# ---- referring results and whole-sketch layers -------------------------------------------------------------

def referred(category: str, ink: np.ndarray, score: float = 0.9, region=None):
    from grmnet.results import ReferredInstance
    region = ink if region is None else region
    return ReferredInstance(category, score, box_of(ink | region), ink, region, 1, f"{category} 1")


def two_sheep_and_a_ground_line():
    left, right = circle(80, 100, 40), circle(220, 100, 40)
    ground = line((0, 190), (299, 190), 2)
    ink = left | right | ground
    part = partition_ink(ink, [detection("sheep", circle(80, 100, 42, filled=True)),
                               detection("sheep", circle(220, 100, 42, filled=True), 0.8)], config())
    return ink, part, left, right, ground


def test_a_referred_instance_takes_its_partition_object_whole_and_nothing_another_object_owns():
    ink, part, left, right, ground = two_sheep_and_a_ground_line()
    from grmnet.partition import assign_to_partition
    # a sloppy mask: most of the left sheep, a bite of the right one, and some unclaimed ground line
    sloppy = circle(80, 100, 44, filled=True) & ink & ~line((40, 100), (120, 100), 30)
    sloppy |= right & line((180, 80), (180, 120), 30)
    sloppy |= ground & line((60, 190), (100, 190), 6)
    (owned,) = assign_to_partition(part, [referred("sheep", sloppy)])
    left_object = part.ink(int(np.argmax([(part.ink(k) & left).sum() for k in range(len(part))])))
    assert (owned.ink & left_object).sum() == left_object.sum()          # the whole left sheep...
    assert not (owned.ink & right).any()                                  # ...nothing of the right one...
    assert (owned.ink & ground).sum() == (sloppy & ground).sum()          # ...plus the unclaimed ink it covered
    # another query on the same object lifts exactly the same ink
    (again,) = assign_to_partition(part, [referred("sheep", circle(80, 100, 41, filled=True) & ink)])
    assert np.array_equal(again.ink & ~ground, owned.ink & ~ground)


def test_instances_of_one_result_never_share_ink():
    ink, part, left, right, ground = two_sheep_and_a_ground_line()
    from grmnet.partition import assign_to_partition
    both = circle(150, 100, 120, filled=True) & ink & ~ground              # one box over both sheep
    instances = [referred("sheep", both, 0.95), referred("sheep", left, 0.9), referred("sheep", right, 0.8)]
    owned = assign_to_partition(part, instances)
    assert len(owned) == 1 and owned[0].score == 0.95                    # the others are already taken
    assert (owned[0].ink & (left | right)).sum() == (left | right).sum()
    two = assign_to_partition(part, [referred("sheep", left, 0.9), referred("sheep", right, 0.8)])
    assert len(two) == 2 and not (two[0].ink & two[1].ink).any()


def test_partition_instances_are_labelled_and_disjoint():
    from grmnet.partition import partition_instances
    ink, part, *_ = two_sheep_and_a_ground_line()
    layers = partition_instances(part)
    assert sorted(i.label for i in layers) == ["sheep 1", "sheep 2"]
    assert not (layers[0].ink & layers[1].ink).any()
    assert all((i.region >= i.ink).all() for i in layers)                 # the silhouette holds the ink


class DetectingEngine:
    """An engine stand-in with its own detect_all: encode/predict are what the partitioner needs."""

    def __init__(self, detections):
        self.detections, self.calls = detections, 0

    def encode(self, image):
        from types import SimpleNamespace
        from grmnet.imaging import to_grey
        return SimpleNamespace(grey=to_grey(image))

    def detect_all(self, sketch):
        self.calls += 1
        return self.detections


def test_split_into_layers_is_cached_per_sketch():
    from grmnet.partition import split_into_layers
    ink, part, left, right, ground = two_sheep_and_a_ground_line()
    engine = DetectingEngine([detection("sheep", circle(80, 100, 42, filled=True)),
                              detection("sheep", circle(220, 100, 42, filled=True), 0.8)])
    image = np.where(ink, 0, 255).astype(np.uint8)
    layers = split_into_layers(engine, image)
    assert len(layers) == 2 and engine.calls == 1
    assert len(split_into_layers(engine, image.copy())) == 2 and engine.calls == 1   # same content: cached
    changed = image.copy()
    changed[5, 5] = 0
    split_into_layers(engine, changed)
    assert engine.calls == 2


def test_detect_all_runs_the_referring_heads_of_a_real_model(tmp_path):
    pytest.importorskip("torch")
    from fakes import make_test_sketch, make_tiny_weights
    from grmnet.partition import DetectAllConfig, category_sentences, detect_all
    from grmnet.prediction import Predictor
    engine = Predictor(make_tiny_weights(tmp_path).parent)
    sketch = engine.encode(make_test_sketch())
    sentences = category_sentences(engine.model, engine.vocab, engine.cfg.max_words)
    found = detect_all(engine.model, sketch.features, sketch.inputs, sentences, sketch.grey.shape,
                       DetectAllConfig(score_threshold=0.0, max_detections=5))
    assert 0 < len(found) <= 5 and [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    for d in found:
        x, y = d.origin
        assert d.prob.dtype == np.float32 and 0 <= x < 320 and 0 <= y < 200
        assert d.prob.shape[0] <= 200 - y and d.prob.shape[1] <= 320 - x


def test_partition_ink_windows_are_the_boxes_of_each_objects_ink():
    owner = np.full((30, 40), -1, np.int32)
    owner[2:5, 3:9] = 0
    owner[20, 30:35] = 2                              # object 1 owns no ink
    owner[10:12, 1] = 0
    part = InkPartition(owner, [Detection(c, 0.9, (0, 0, 1, 1), np.zeros((1, 1), np.float32))
                                for c in ("cat", "dog", "tree")])
    assert part.ink_windows() == [(slice(2, 12), slice(1, 9)), None, (slice(20, 21), slice(30, 35))]
    assert part.ink_counts().tolist() == [20, 0, 5]


def test_claims_on_a_large_sketch_grow_by_about_the_radius():
    """At a large radius the probability is max-pooled before it is dilated (speed): every ink pixel's claim lies
    between the exact dilations by the radius less one pooling step and by the radius plus two."""
    rng = np.random.default_rng(1)
    prob = cv2.resize(rng.random((28, 28)).astype(np.float32), (300, 260), interpolation=cv2.INTER_LINEAR)
    obj = Detection("tree", 0.9, (50, 40, 350, 300), prob, (50, 40))
    shape = (400, 420)
    ys, xs = np.nonzero(rng.random(shape) < 0.2)
    got = pixel_claims((ys, xs), [obj], shape, radius=16)[0]
    step = 16 // 4

    def exact(r):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        full = np.zeros(shape, np.float32)
        full[40:300, 50:350] = prob
        return cv2.dilate(full, kernel)[ys, xs]
    assert (got >= exact(16 - step) - 1e-6).all() and (got <= exact(16 + 2 * step) + 1e-6).all()
    assert np.array_equal(pixel_claims((ys, xs), [obj], shape, radius=4)[0], exact(4))     # small radius: exact

"""GRM-Net as a referring engine: `Predictor` (weights loaded once, per-sketch feature cache)."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torchvision.ops import batched_nms, nms

from grmnet.data.categories import category_of_label, label_of, singular
from grmnet.engine import SketchEngine
from grmnet.extremes import Extreme, Order, names_whole_category, parse_extreme, parse_order, rank_instances
from grmnet.imaging import ModelInput, drawing_frame, ink_mask, model_input
from grmnet.modeling.grmnet import ImageFeatures
from grmnet.partition import (another_category, bbox_of, category_expression, partition_instances, partitioner_of,
                              paste_mask)
from grmnet.relations import Relation, parse_relation, rank_by_relation, reference_group
from grmnet.results import ReferredInstance, ReferringResult, Understanding, label_instances
from grmnet.runtime import AdaptiveThreads, resolve_device
from grmnet.selection import (SelectionRule, correct_nouns, names_everything, plural_noun, split_conjunction,
                              understand, with_article)
from grmnet.weights import load_inference, load_model

__all__ = ["Predictor", "EncodedSketch", "CandidateSetting", "ink_of_region", "ink_of_window"]


class CandidateSetting(NamedTuple):
    """How one model pass becomes scored candidates (grmnet.config.InferenceConfig has the tuned values)."""
    mask_threshold: float          # region = pasted mask probability above this
    ink_margin: int                # px at 750 px the region grows by before taking its ink
    named_category: bool = False   # score by the named category's probability instead of the best category's


@dataclass
class EncodedSketch:
    """Everything about one sketch that does not depend on the expression, and the model's outputs for the
    expressions asked of it lately (`outputs`: expression -> (the lowest probability of being referred its
    detections were kept down to, output dict), at most OUTPUTS_KEPT; "the leftmost tree" and "the tree near the
    house" both ask "the trees")."""
    grey: np.ndarray          # [H, W] uint8
    ink: np.ndarray           # [H, W] bool, grmnet.imaging.ink_mask at full resolution
    inputs: ModelInput
    features: ImageFeatures
    outputs: dict = field(default_factory=dict)
    key: str | None = None    # SketchCache.key(grey), set by the engine's encode

    OUTPUTS_KEPT = 32


class Predictor(SketchEngine):
    """GRM-Net referring-expression instance segmentation of one sketch at a time.

    >>> p = Predictor()                       # shipped weights (resources/weights/)
    >>> p.predict("scene.png", ["the two sheep", "the sun"]).results[0].instances[0].label
    'sheep 1'
    """

    method = "grmnet"

    def __init__(self, weights=None, device: str | None = "cpu", threshold: float | None = None,
                 cache_size: int = 4, threads: int | None = None, own_ink: bool = False):
        """own_ink: returned instances take their objects' ink from the sketch's ink partition (grmnet.partition,
        built on the first query of a sketch and cached): layers never overlap, a lifted object comes away whole,
        and the same object is the same layer in every query. Off: region ∩ ink, as the paper evaluates."""
        super().__init__(cache_size)
        self.own_ink = own_ink
        self.device = resolve_device(device)
        self.threads = AdaptiveThreads(threads) if self.device.type == "cpu" else None
        self.model, self.cfg, self.vocab, self.weights_path = load_model(weights, self.device)
        self.inference = load_inference(self.weights_path)
        self.threshold = self.inference.score_threshold if threshold is None else float(threshold)

    def rule(self, threshold: float | None = None) -> SelectionRule:
        """The selection rule of a query (the model's tuned one, with another score threshold if given)."""
        inf = self.inference
        return SelectionRule(self.threshold if threshold is None else float(threshold), inf.count_floor,
                             inf.count_nouns)

    def understand(self, expression: str) -> Understanding:
        return understand(self.corrected(expression), self.inference.count_nouns)

    @torch.inference_mode()
    def _encode_grey(self, grey: np.ndarray) -> EncodedSketch:
        ink = ink_mask(grey)
        inputs = model_input(grey, self.cfg.input_size, drawing_frame(ink))
        features = self.model.encode_images(inputs.tensor[None].to(self.device))
        return EncodedSketch(grey, ink, inputs, features)

    def ink_margin(self, h: int, w: int, setting: int | None = None) -> int:
        """Outline strokes lie ON the silhouette's border, where a 28x28 mask is least sure: the region is
        grown by this many pixels (setting at 750 px, scaled with the image; default the tuned one) before
        taking its ink."""
        return int(round((self.inference.ink_margin if setting is None else setting) * max(h, w) / 750))

    @torch.inference_mode()
    def refer(self, sketch: EncodedSketch, expression: str, threshold: float | None = None, *,
              with_candidates: bool = False) -> ReferringResult:
        """One expression on an encoded sketch. with_candidates: also every scored candidate (for AP)."""
        inf = self.inference
        setting = CandidateSetting(inf.mask_threshold, inf.ink_margin, inf.named_category)
        with self.thread_stage("heads"):
            result = self._refer(sketch, self.corrected(expression), threshold, with_candidates, [setting])[0]
        return dataclasses.replace(result, expression=expression)

    @torch.inference_mode()
    def refer_settings(self, sketch: EncodedSketch, expression: str, settings: list[tuple]
                       ) -> list[ReferringResult]:
        """One expression under several settings ((mask threshold, ink margin[, named_category]) each, see
        CandidateSetting) from ONE model pass, each result with every scored candidate: what `grmnet tune`
        compares (the settings only change how the network's outputs become candidates, so re-running the
        network per setting would repeat identical work)."""
        return [dataclasses.replace(r, expression=expression) for r in
                self._refer(sketch, self.corrected(expression), None, True, [CandidateSetting(*s) for s in settings])]

    def geometric_pick(self, expression: str) -> Extreme | Order | None:
        """What the expression asks of its category's instances that plain geometry answers (grmnet.extremes):
        an extreme ("the biggest tree") or an order ("the leftmost tree"), as the inference settings allow."""
        inf = self.inference
        pick = parse_extreme(expression) if inf.resolve_extremes else None
        if pick is None and inf.resolve_order:
            pick = parse_order(expression)
        return pick

    def corrected(self, expression: str) -> str:
        """The expression with typing slips in its category nouns fixed (setting correct_spelling), else as typed."""
        if not self.inference.correct_spelling:
            return expression
        return correct_nouns(expression, self._is_word)

    def _is_word(self, word: str) -> bool:
        """A word of the language: one token of the pretrained encoder's vocabulary (where there is one), or a
        word the BiLSTM knows."""
        pieces = getattr(self.vocab, "pieces", None)
        if pieces is not None:
            return pieces.tokenizer.token_to_id(word) is not None
        return self.vocab.knows(word)

    def model_text(self, expression: str) -> str:
        """What the network reads for an expression: as typed, or with the article the grammar would say
        (setting add_article)."""
        return with_article(expression) if self.inference.add_article else expression

    def _refer(self, sketch: EncodedSketch, expression: str, threshold: float | None, with_candidates: bool,
               settings: list[CandidateSetting], geometric: bool = True) -> list[ReferringResult]:
        # `expression` is already corrected (refer / refer_settings): it is read as it is from here on
        unknown = self.check_expression(expression)
        if geometric and names_everything(expression):
            return self._refer_everything(sketch, expression, unknown, with_candidates, len(settings))
        parts = split_conjunction(expression) if geometric else [expression]
        if len(parts) > 1:
            return self._refer_conjunction(sketch, expression, parts, unknown, threshold, with_candidates, settings)
        pick = self.geometric_pick(expression) if geometric else None
        if pick is not None:
            understood = understand(expression, self.inference.count_nouns)
            if understood.categories:
                return self._refer_extreme(sketch, expression, pick, understood, unknown, threshold,
                                           with_candidates, settings)
        relation = parse_relation(expression) if geometric and self.inference.resolve_relations else None
        if relation is not None:
            understood = understand(expression, self.inference.count_nouns)
            if understood.category:
                return self._refer_relation(sketch, expression, relation, understood, unknown, threshold,
                                            with_candidates, settings)
        rule = self.rule(threshold)
        start = time.perf_counter()
        understood = understand(expression, self.inference.count_nouns)
        categories = understood.categories
        by_members = self.inference.resolve_groups and len(categories) > 1 and names_whole_category(expression)
        if by_members and rule.count_floor is not None:
            # a member's own expression finds its instances with near-certain scores: a stated count is
            # not filled from below the threshold (that only adds other objects when members are absent)
            rule = dataclasses.replace(rule, count_floor=max(rule.count_floor, rule.threshold))
        lowest = 0.0 if with_candidates else rule.lowest_score
        if by_members:
            out, categories = self._members_out(sketch, categories, lowest), ()     # scored by their members already
        else:
            out = self._model_outputs(sketch, [self.model_text(expression)], lowest)[0]
        t_refer = time.perf_counter()
        results = []
        for candidates in self._instance_variants(sketch, out, lowest, settings, categories):
            chosen = rule.choose([c.score for c in candidates], expression)
            returned = label_instances([candidates[i] for i in chosen], singular)
            if self.own_ink and returned:
                owned_list = partitioner_of(self).assign(sketch, returned)
                if self.inference.verify_category is not None and understood.categories:
                    partition = partitioner_of(self).partition(sketch)
                    owned_list = [inst for inst in owned_list if not another_category(
                        partition, inst.ink, inst.score, understood.categories, self.inference.verify_category)]
                owned = {inst.label: inst for inst in owned_list}
                chosen = [i for i, inst in zip(chosen, returned) if inst.label in owned]
                returned = [owned[inst.label] for inst in returned if inst.label in owned]
            if with_candidates:
                for i, inst in zip(chosen, returned):
                    candidates[i] = inst
            end = time.perf_counter()
            results.append(ReferringResult(expression, returned, candidates if with_candidates else [],
                                           understood, tuple(unknown),
                                           round((end - start) * 1e3, 2)))
        self.last_stages_ms.update({"language+rpn+roi_heads": (t_refer - start) * 1e3,
                                    "masks": (time.perf_counter() - t_refer) * 1e3})
        return results

    def _model_outputs(self, sketch: EncodedSketch, texts: list[str], lowest: float = 0.0) -> list[dict]:
        """The model's output dict (boxes, scores, labels, masks, class_probs) for each text on the sketch, with
        every detection that could score `lowest` or more (see FusedRoIHeads.forward: the others' masks are not
        computed): from the sketch's recent outputs where they reach that low, the others in ONE batched pass
        (the RPN fuses each text into its own copy of the image's maps; the RoI heads pool from the image's
        features)."""
        memo = sketch.outputs
        todo = [t for t in dict.fromkeys(texts) if t not in memo or memo[t][0] > lowest]
        if todo:
            tokens, lengths = self.vocab.encode_batch(todo, self.cfg.max_words)
            if len(todo) == 1:
                outs = self.model.refer(sketch.features, [sketch.inputs.size], tokens.to(self.device), lengths,
                                        min_referred=lowest)
            else:
                index = torch.zeros(len(todo), dtype=torch.long, device=self.device)
                per_pair = ImageFeatures(sketch.features.features, [p[index] for p in sketch.features.rpn_parts],
                                         sketch.features.input_shape)
                outs = self.model.refer(per_pair, [sketch.inputs.size] * len(todo), tokens.to(self.device),
                                        lengths, feature_index=index, min_referred=lowest)
            for t, out in zip(todo, outs):
                memo.pop(t, None)
                memo[t] = (lowest, out)
            while len(memo) > sketch.OUTPUTS_KEPT:
                memo.pop(next(iter(memo)))
        return [memo[t][1] for t in texts]

    def _members_out(self, sketch: EncodedSketch, categories: tuple[str, ...], lowest: float = 0.0) -> dict:
        """A broader word's targets ("the animals"): one batched model pass with every member's own expression
        ("all the cats", "all the dogs", ...: `category_expression`), each pass's detections scored by the
        probability of ITS member, then merged by class-agnostic NMS (one object found under two members comes
        back once, under the likelier one).
        -> the model's output dict for one expression (boxes, scores, labels, masks, class_probs)."""
        texts = [category_expression(c, self.vocab.knows) for c in categories]
        outs = self._model_outputs(sketch, texts, lowest)
        merged: dict[str, list[torch.Tensor]] = {k: [] for k in ("boxes", "scores", "labels", "masks", "class_probs")}
        for c, out in zip(categories, outs):
            label = label_of(c)
            merged["boxes"].append(out["boxes"])
            merged["scores"].append(out["class_probs"][:, label])
            merged["labels"].append(torch.full_like(out["labels"], label))
            merged["masks"].append(out["masks"])
            merged["class_probs"].append(out["class_probs"])
        out = {k: torch.cat(v) for k, v in merged.items()}
        keep = batched_nms(out["boxes"], out["scores"], torch.zeros_like(out["labels"]), self.cfg.box_nms_thresh)
        return {k: v[keep] for k, v in out.items()}

    def _refer_extreme(self, sketch: EncodedSketch, expression: str, pick: Extreme | Order,
                       understood: Understanding, unknown: list[str], threshold: float | None, with_candidates: bool,
                       settings: list[CandidateSetting]) -> list[ReferringResult]:
        """'the biggest tree', 'the leftmost tree' (grmnet.extremes): of every tree found, the `pick.count` most
        extreme, or those at the asked place in their order (see `_refer_geometric`)."""
        width = sketch.grey.shape[1]
        one_category = len(understood.categories) <= 1        # "the leftmost animal" ranks cats and birds together
        return self._refer_geometric(
            sketch, expression, understood, unknown, threshold, with_candidates, settings, pick.count,
            lambda s, boxes: rank_instances(boxes, pick, understood.category or "", width, one_category))

    def _refer_relation(self, sketch: EncodedSketch, expression: str, relation: Relation,
                        understood: Understanding, unknown: list[str], threshold: float | None, with_candidates: bool,
                        settings: list[CandidateSetting]) -> list[ReferringResult]:
        """'the dog behind the house' (grmnet.relations): every dog and every house found, the group of dogs in
        that relation to the houses kept (see `_refer_geometric`)."""
        width = sketch.grey.shape[1]
        # (one batched pass for both plurals measured no faster on a 2-core CPU than two passes: 79 vs 80 ms)
        references = self._refer(sketch, f"the {plural_noun(relation.reference)}", threshold, False, settings)
        if all(reference_group([i.box for i in r.instances], width) is None for r in references):
            # no one group of references found: geometry cannot answer, so the targets' plural pass is skipped
            return self._refer(sketch, expression, threshold, with_candidates, settings, geometric=False)
        return self._refer_geometric(
            sketch, expression, understood, unknown, threshold, with_candidates, settings, relation.count,
            lambda s, boxes: rank_by_relation(boxes, [i.box for i in references[s].instances], relation,
                                              understood.category or "", width))

    def _refer_everything(self, sketch: EncodedSketch, expression: str, unknown: list[str], with_candidates: bool,
                          n_settings: int) -> list[ReferringResult]:
        """'select everything', 'all the objects': every object of the sketch, as the ink partition has them (the
        same layers as "Split into layers"), whatever the settings."""
        start = time.perf_counter()
        partitioner = partitioner_of(self)
        instances = partition_instances(partitioner.partition(sketch), partitioner.partition_cfg.mask_threshold)
        ms = round((time.perf_counter() - start) * 1e3, 2)
        return [ReferringResult(expression, instances, list(instances) if with_candidates else [],
                                Understanding(None, "all", ()), tuple(unknown), ms) for _ in range(n_settings)]

    def _refer_conjunction(self, sketch: EncodedSketch, expression: str, parts: list[str], unknown: list[str],
                           threshold: float | None, with_candidates: bool, settings: list[CandidateSetting]
                           ) -> list[ReferringResult]:
        """'the car and the cat': each target phrase referred on its own, the results joined (an object that two
        phrases both return comes back once, under the first). Candidates for AP: all of them, best first."""
        start = time.perf_counter()
        per_part = [self._refer(sketch, part, threshold, with_candidates, settings) for part in parts]
        understood = Understanding(" and ".join(r[0].understood.describe() or "any object" for r in per_part), None,
                                   tuple(dict.fromkeys(c for r in per_part for c in r[0].understood.categories)))
        results = []
        for s in range(len(settings)):
            chosen, taken = [], None
            for r in per_part:
                for inst in r[s].instances:
                    if taken is not None and (inst.ink & taken).sum() > 0.5 * max(int(inst.ink.sum()), 1):
                        continue                                   # the same object, returned by an earlier phrase
                    chosen.append(inst)
                    taken = inst.ink.copy() if taken is None else taken | inst.ink
            kept = label_instances(chosen, singular)
            candidates = []
            if with_candidates:
                # every phrase scores every object: one candidate per object (box IoU), the returned ones first
                chosen_ids = {id(i) for i in chosen}
                rest = sorted((c for r in per_part for c in r[s].candidates if id(c) not in chosen_ids),
                              key=lambda c: -c.score)
                pool = kept + rest
                keep = nms(torch.tensor([c.box for c in pool], dtype=torch.float).reshape(-1, 4),
                           torch.tensor([2.0] * len(kept) + [c.score for c in rest]), 0.7).tolist()
                keep = set(keep) | set(range(len(kept)))          # returned objects stay, even if they overlap
                candidates = sorted((pool[i] for i in keep), key=lambda c: -c.score)
            results.append(ReferringResult(expression, kept, candidates, understood, tuple(unknown),
                                           round((time.perf_counter() - start) * 1e3, 2)))
        return results

    def _refer_geometric(self, sketch: EncodedSketch, expression: str, understood: Understanding,
                         unknown: list[str], threshold: float | None, with_candidates: bool,
                         settings: list[CandidateSetting], count: int, rank) -> list[ReferringResult]:
        """Every instance of the target category that the plural query ('the trees') returns, ranked by
        `rank(setting index, their boxes)`, the first `count` kept. For AP the kept ones keep their scores and
        rank first; every other candidate is scaled below them (to half of the lowest kept score at most), in its
        own order. When the found instances cannot answer (`rank` gives None), the model answers the expression
        itself."""
        start = time.perf_counter()
        everyone = self._refer(sketch, f"the {plural_noun(understood.category)}", threshold, with_candidates,
                               settings)
        results, by_model = [], None
        for s, found in enumerate(everyone):
            order = rank(s, [i.box for i in found.instances])
            if order is None:
                if by_model is None:
                    by_model = self._refer(sketch, expression, threshold, with_candidates, settings, geometric=False)
                results.append(by_model[s])
                continue
            kept = label_instances([found.instances[j] for j in order[:count]], singular)
            candidates = []
            if with_candidates:
                floor = min((i.score for i in kept), default=1.0) * 0.5
                kept_ids = {id(found.instances[j]) for j in order[:count]}
                rest = [c for c in found.candidates if id(c) not in kept_ids]
                scale = min(1.0, floor / max((c.score for c in rest), default=1.0))  # below the kept, same order
                rest = [dataclasses.replace(c, score=c.score * scale) for c in rest]
                candidates = sorted(kept + rest, key=lambda c: -c.score)
            results.append(ReferringResult(expression, kept, candidates, understood, tuple(unknown),
                                           round((time.perf_counter() - start) * 1e3, 2)))
        return results

    def _instance_variants(self, sketch: EncodedSketch, out: dict, lowest: float, settings: list[CandidateSetting],
                           categories: tuple[str, ...]) -> list[list[ReferredInstance]]:
        """Detections -> per setting, the unlabelled instances scored >= lowest with full-resolution masks, best
        first. `categories`: those the expression's target noun covers (one for "the kitty", several for "the
        animals", none when it names none); a named_category setting scores each candidate by the probability
        that it is referred as one of them (labelled with the likeliest). A region over blank paper selects
        nothing an artist could edit, so ink-less ones are dropped."""
        scores, labels = out["scores"], out["labels"]
        named = None
        if categories and "class_probs" in out:
            group = torch.tensor([label_of(c) for c in categories], dtype=torch.long)
            probs = out["class_probs"][:, group]
            named = (probs.sum(dim=1), group[probs.argmax(dim=1)])
        # one category's probability is never above the best one's, but a group's sum can be
        keep = scores >= lowest if named is None else (scores >= lowest) | (named[0] >= lowest)
        boxes = sketch.inputs.to_original(out["boxes"][keep])
        masks = out["masks"][keep]
        if not len(boxes):
            return [[] for _ in settings]
        best = (scores[keep].tolist(), labels[keep].tolist())
        named = best if named is None else (named[0][keep].tolist(), named[1][keep].tolist())
        h, w = sketch.grey.shape
        # each mask over its box only (partition.paste_mask): pasting and thresholding whole-image copies cost
        # about 1 ms per candidate on a 750 px sketch
        box_list = boxes.tolist()
        windows = [paste_mask(m, b, (h, w)) for m, b in zip(masks[:, 0].float().cpu().numpy(), box_list)]
        inks: dict[tuple[float, int], list[tuple[np.ndarray, np.ndarray]]] = {}   # the same for both scorings
        variants = []
        for setting in settings:
            region_key = (setting.mask_threshold, setting.ink_margin)
            if region_key not in inks:
                grow = self.ink_margin(h, w, setting.ink_margin)
                inks[region_key] = [ink_of_window(prob > setting.mask_threshold, origin, sketch.ink, grow)
                                    for prob, origin in windows]
            scores, labels = named if setting.named_category else best
            instances = [ReferredInstance(category_of_label(label), float(score), tuple(box), ink, region)
                         for (ink, region), box, score, label in zip(inks[region_key], box_list, scores, labels)
                         if score >= lowest and ink.any()]
            variants.append(sorted(instances, key=lambda i: -i.score))
        return variants


def ink_of_window(region: np.ndarray, origin: tuple[int, int], ink: np.ndarray, margin: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A region given over a window of the image (bool [h, w] whose top-left pixel is `origin` (x, y)) ->
    (its ink: the ink pixels of the region grown by `margin` px, the region), both bool [H, W] like `ink`."""
    big_h, big_w = ink.shape
    x, y = origin
    full = np.zeros((big_h, big_w), bool)
    taken = np.zeros((big_h, big_w), bool)
    box = bbox_of(region)      # (row/column reductions: ~25x cheaper than np.nonzero)
    if box is None:
        return taken, full
    full[y:y + region.shape[0], x:x + region.shape[1]] = region
    x0, y0 = max(0, x + box[0] - margin), max(0, y + box[1] - margin)
    x1, y1 = min(big_w, x + box[2] + margin), min(big_h, y + box[3] + margin)
    grown = full[y0:y1, x0:x1]
    if margin > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        grown = cv2.dilate(grown.astype(np.uint8), kernel).astype(bool)
    taken[y0:y1, x0:x1] = grown & ink[y0:y1, x0:x1]
    return taken, full


def ink_of_region(region: np.ndarray, ink: np.ndarray, margin: int) -> np.ndarray:
    """Ink pixels of a region grown by `margin` px: bool [H, W] x2 -> bool [H, W]."""
    return ink_of_window(region, (0, 0), ink, margin)[0]

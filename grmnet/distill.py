"""`grmnet distill-language`: give a trained BiLSTM GRM-Net an open-vocabulary language side without images.

The fusion (RPN, RoI heads, GRM) consumes one sentence feature [lang_dim] per expression. A new language side
(frozen all-MiniLM-L6-v2 + a trained `SentenceHead`) is taught to reproduce the trained BiLSTM's feature:
- for every template expression, the teacher's own feature (so template accuracy is kept);
- for meaning-preserving rewrites of it (grmnet.data.paraphrase: other names, digits, wrappers, relation
  words, attributes), the feature of the template they rewrite (so "grab the 2 kitties" means what
  "the two cats" means).
Everything else of the teacher is copied unchanged. Templates come from train-split scenes only (never val or
test); the encoder's token embeddings are computed once (it is frozen), so training the head takes minutes on
a CPU.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grmnet.data.paraphrase import rewrite_template
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import HybridVocabulary, PretrainedLanguageEncoder, wordpiece_vocabulary
from grmnet.weights import INFERENCE_NAME, dump_json, load_model, save_model

MAX_TOKENS = 32


def template_expressions(scenes: int, seed: int, start_key: int) -> list[str]:
    """Distinct template expressions of `scenes` train-split scenes (layout + generator, like grmnet synth)."""
    from grmnet.data.expressions import generate_expressions
    from grmnet.data.scene import compose_scene
    from grmnet.data.synth import CANVAS, scene_rngs

    seen: dict[str, None] = {}
    for key in range(start_key, start_key + scenes):
        rs, re_ = scene_rngs("train", seed, key)
        scene = compose_scene(rs, size=CANVAS)
        for text in generate_expressions(scene.objects, re_, canvas_size=CANVAS, no_target_share=0.05):
            seen.setdefault(text, None)
    return list(seen)


def expressions_in(path) -> list[str]:
    """Distinct expression strings of a SketchyScene-Matching sentence file (text only)."""
    seen: dict[str, None] = {}
    for entry in json.loads(Path(path).read_text()):
        for text in entry["sen_instIdx_map"]:
            seen.setdefault(text, None)
    return list(seen)


def training_pairs(templates: list[str], rewrites: int, seed: int) -> tuple[list[str], list[int]]:
    """(student text, index of its template): each template itself plus `rewrites` rewrites of it."""
    rng = np.random.default_rng(seed)
    texts, owner = [], []
    for i, t in enumerate(templates):
        variants = {t}
        for _ in range(rewrites):
            variants.add(rewrite_template(t, rng)[0])
        for v in sorted(variants):
            texts.append(v)
            owner.append(i)
    return texts, owner


@torch.no_grad()
def teacher_features(teacher: GRMNet, vocab, texts: list[str], max_words: int, batch: int = 512) -> torch.Tensor:
    out = []
    for i in range(0, len(texts), batch):
        tokens, lengths = vocab.encode_batch(texts[i:i + batch], max_words)
        out.append(teacher.language(tokens, lengths))
    return torch.cat(out)


@torch.no_grad()
def token_embeddings(encoder: PretrainedLanguageEncoder, vocab, texts: list[str], batch: int = 128
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen encoder outputs for every text: [N, T, 384] (0-padded to MAX_TOKENS), mask [N, T]."""
    emb = torch.zeros(len(texts), MAX_TOKENS, encoder.text_encoder.dim)
    mask = torch.zeros(len(texts), MAX_TOKENS, dtype=torch.bool)
    for i in range(0, len(texts), batch):
        tokens, lengths = vocab.encode_batch(texts[i:i + batch], MAX_TOKENS)
        e, m = encoder.token_embeddings(tokens, lengths)
        emb[i:i + len(e), : e.shape[1]] = e
        mask[i:i + len(e), : e.shape[1]] = m
    return emb, mask


def fit_head(encoder: PretrainedLanguageEncoder, emb: torch.Tensor, mask: torch.Tensor, target: torch.Tensor,
             val: torch.Tensor, weight: torch.Tensor, epochs: int, seed: int, log=print) -> dict:
    """Train encoder.head to map (emb, mask) -> target, rows weighted by `weight`; `val` marks held-out rows
    (reported, never trained)."""
    torch.manual_seed(seed)
    head = encoder.head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
    train_idx = torch.nonzero(~val).flatten()
    steps = epochs * max(1, len(train_idx) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=max(steps, 1))
    scale = target[train_idx].pow(2).mean().clamp(min=1e-8)
    step = 0
    for epoch in range(epochs):
        order = train_idx[torch.randperm(len(train_idx))]
        for i in range(0, len(order) - 255, 256):
            b = order[i:i + 256]
            err = (head(emb[b], mask[b]) - target[b]).pow(2).mean(1)
            loss = (weight[b] * err).sum() / weight[b].sum() / scale
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs - 1:
            log(f"epoch {epoch + 1}/{epochs}: train loss {loss.item():.4f} {agreement(head, emb, mask, target, val)}")
    head.eval()
    return agreement(head, emb, mask, target, val)


@torch.no_grad()
def agreement(head, emb, mask, target, val) -> dict:
    """Relative squared error and cosine similarity of the head's features to the targets, train vs held out."""
    was = head.training
    head.eval()
    out = {}
    for name, rows in (("train", ~val), ("held_out", val)):
        idx = torch.nonzero(rows).flatten()
        if not len(idx):
            continue
        pred = torch.cat([head(emb[idx[i:i + 1024]], mask[idx[i:i + 1024]]) for i in range(0, len(idx), 1024)])
        t = target[idx]
        out[name] = {"rel_sq_error": round(float((pred - t).pow(2).sum() / t.pow(2).sum().clamp(min=1e-8)), 4),
                     "cosine": round(float(F.cosine_similarity(pred, t, dim=1).mean()), 4), "rows": len(idx)}
    head.train(was)
    return out


def write_student(teacher: GRMNet, cfg, vocab, weights: Path, head_state: dict, wordpieces, out,
                  language: str = "hybrid") -> Path:
    """The teacher with a new language side, written as weights in `out` (with the teacher's inference.json):
    "minilm" replaces the BiLSTM by the pretrained encoder + head; "hybrid" keeps the BiLSTM for expressions
    whose every word it knows and adds the pretrained encoder + head for the others."""
    if language == "minilm":
        scfg = dataclasses.replace(cfg, language_model="minilm", max_words=MAX_TOKENS)
        lang_state = {f"language.head.{k}": v for k, v in head_state.items()}
        student_vocab = wordpieces
    else:
        scfg = dataclasses.replace(cfg, language_model="hybrid")
        lang_state = {f"language.words.{k[len('language.'):]}": v for k, v in teacher.state_dict().items()
                      if k.startswith("language.")}
        lang_state.update({f"language.pieces.head.{k}": v for k, v in head_state.items()})
        student_vocab = HybridVocabulary(vocab, wordpieces)
    student = GRMNet(scfg, len(vocab) if language != "minilm" else 0)
    state = {k: v for k, v in teacher.state_dict().items() if not k.startswith("language.")}
    student.load_state_dict({**state, **lang_state}, strict=True)
    out = Path(out)
    save_model(student, scfg, student_vocab, out, metadata={"distilled_from": str(weights), "language": language})
    if (weights.parent / INFERENCE_NAME).is_file():
        shutil.copyfile(weights.parent / INFERENCE_NAME, out / INFERENCE_NAME)
    return out


def run_distill(args) -> int:
    t0 = time.perf_counter()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    teacher, cfg, vocab, weights = load_model(args.teacher, "cpu")
    if cfg.language_model != "bilstm":
        from grmnet.errors import GRMNetError
        raise GRMNetError(f"{weights}: the teacher must use the BiLSTM language model")
    out = Path(args.out)
    cache = out / f"templates_{args.scenes}_{args.seed}_{args.start_key}.json"   # composing scenes is the slow part
    if cache.is_file():
        templates = json.loads(cache.read_text())
    else:
        templates = template_expressions(args.scenes, args.seed, args.start_key)
        out.mkdir(parents=True, exist_ok=True)
        dump_json(cache, templates)
    log(f"{len(templates)} distinct template expressions from {args.scenes} train scenes")
    for path in args.extra_templates or ():
        known = set(templates)
        extra = [t for t in expressions_in(path) if t not in known]
        templates += extra
        log(f"+ {len(extra)} more from {path}")
    texts, owner = training_pairs(templates, args.rewrites, args.seed)
    owner_t = torch.tensor(owner)
    # hold out whole templates (with their rewrites) to see how the head generalises
    rng = np.random.default_rng(args.seed + 1)
    held = torch.from_numpy(rng.random(len(templates)) < args.held_out)
    val = held[owner_t]
    target = teacher_features(teacher, vocab, templates, cfg.max_words)[owner_t]
    student_lang = PretrainedLanguageEncoder(cfg.lang_dim)
    wordpieces = wordpiece_vocabulary()
    emb, mask = token_embeddings(student_lang, wordpieces, texts)
    log(f"{len(texts)} training texts embedded ({time.perf_counter() - t0:.0f} s)")
    # a template must keep the teacher's exact feature (template accuracy); its rewrites only come close to it
    weight = torch.tensor([args.template_weight if t == templates[o] else 1.0 for t, o in zip(texts, owner)])
    report = fit_head(student_lang, emb, mask, target, val, weight, args.epochs, args.seed, log)
    out = write_student(teacher, cfg, vocab, weights, student_lang.head.state_dict(), wordpieces, args.out,
                        args.language)
    summary = {"teacher": str(weights), "language": args.language, "templates": len(templates), "texts": len(texts),
               "extra_templates": [str(p) for p in args.extra_templates or ()],
               "scenes": args.scenes, "rewrites_per_template": args.rewrites, "epochs": args.epochs,
               "template_weight": args.template_weight,
               "seconds": round(time.perf_counter() - t0, 1), "agreement": report}
    dump_json(out / "distill.json", summary)
    print(json.dumps(summary))
    return 0


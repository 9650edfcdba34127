"""The JSON edge: typed results (`grmnet.results`) <-> JSON objects with COCO RLE masks.

Used only where results leave or enter the process (the CLI's --json / stdout, `grmnet evaluate
--predictions`, files a user hands back in); in-process code passes the typed results.
"""
from __future__ import annotations

from grmnet.masks import decode_rle, encode_rle
from grmnet.results import ReferredInstance, ReferringResult, SketchResult, Understanding


def instance_to_json(inst: ReferredInstance, returned: bool | None = None) -> dict:
    x, y, w, h = inst.xywh
    out = {"category": inst.category, "index": inst.index, "label": inst.label, "score": float(inst.score),
           "bbox": [round(x, 1), round(y, 1), round(w, 1), round(h, 1)],
           "ink_mask_rle": encode_rle(inst.ink), "region_mask_rle": encode_rle(inst.region)}
    if returned is not None:
        out["returned"] = bool(returned)
    return out


def instance_from_json(data: dict) -> ReferredInstance:
    ink = decode_rle(data["ink_mask_rle"])
    region = decode_rle(data["region_mask_rle"]) if data.get("region_mask_rle") else ink.copy()
    x, y, w, h = (float(v) for v in data.get("bbox", (0, 0, 0, 0)))
    return ReferredInstance(category=str(data.get("category", "object")), score=float(data.get("score", 1.0)),
                            box=(x, y, x + w, y + h), ink=ink, region=region, index=int(data.get("index", 0)),
                            label=str(data.get("label", "")))


def result_to_json(result: ReferringResult, candidates: bool = False) -> dict:
    """One expression's result. candidates=True lists every scored candidate with a `returned` flag (COCO
    results style: the AP of `grmnet evaluate` is re-computable from it); otherwise the returned instances."""
    out = {"expression": result.expression, "unknown_words": list(result.unknown_words),
           "understood": {"category": result.understood.category, "count": result.understood.count},
           "latency_ms": round(result.latency_ms, 2)}
    if candidates:
        out["candidates"] = [instance_to_json(c, r) for c, r in zip(result.candidates, result.returned_flags())]
    else:
        out["instances"] = [instance_to_json(i) for i in result.instances]
    return out


def result_from_json(data: dict) -> ReferringResult:
    understood = data.get("understood") or {}
    if "candidates" in data:
        candidates = [instance_from_json(c) for c in data["candidates"]]
        instances = [c for c, d in zip(candidates, data["candidates"]) if d.get("returned")]
    else:
        candidates, instances = [], [instance_from_json(i) for i in data.get("instances", [])]
    return ReferringResult(str(data.get("expression", "")), instances, candidates,
                           Understanding(understood.get("category"), understood.get("count")),
                           tuple(data.get("unknown_words", ())), float(data.get("latency_ms", 0.0)))


def sketch_result_to_json(result: SketchResult, candidates: bool = False) -> dict:
    return {"image": result.image, "width": result.width, "height": result.height,
            "results": [result_to_json(r, candidates) for r in result.results]}

"""Re-compute mask AP from a `grmnet evaluate --predictions FILE` file with pycocotools alone, as an
independent check of the printed AP (it shares no code with grmnet.evaluation: ground truth is read from the
dataset, every pair is one COCO image, every candidate in the file is a detection).

usage: python tools/rescore_predictions.py PREDICTIONS.json [--data DIR --split SPLIT]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from grmnet.data.sketchyscene import SketchySceneDataset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("predictions")
    ap.add_argument("--data", default=None, help="dataset root (default: the one named in the file)")
    ap.add_argument("--split", default=None)
    a = ap.parse_args()
    doc = json.load(open(a.predictions))
    data = SketchySceneDataset(a.data or doc["data"], a.split or doc["split"], sentences_file=doc.get("sentences"))
    images, gts, dts = [], [], []
    for entry in doc["images"]:
        sample = data.image(entry["key"])
        for result in entry["results"]:
            pid = result["pair_id"]
            images.append({"id": pid, "height": entry["height"], "width": entry["width"]})
            for t in result["targets"]:
                rle = mask_utils.encode(np.asfortranarray(sample.ink_masks[t].astype(np.uint8)))
                rle["counts"] = rle["counts"].decode("ascii")
                gts.append({"id": len(gts) + 1, "image_id": pid, "category_id": 1, "segmentation": rle,
                            "area": float(mask_utils.area(rle)), "iscrowd": 0})
            for c in result["candidates"]:
                dts.append({"image_id": pid, "category_id": 1, "segmentation": c["ink_mask_rle"],
                            "score": c["score"]})
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gts, "categories": [{"id": 1, "name": "referred"}]}
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(dts), iouType="segm")
        ev.params.maxDets = [1, 10, 100]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    mine = {k: round(100 * float(v), 2) for k, v in zip(("AP", "AP50", "AP75"), ev.stats[:3])}
    returned = sum(c.get("returned", False) for e in doc["images"] for r in e["results"] for c in r["candidates"])
    print(json.dumps({"pairs": len(images), "candidates": len(dts), "returned": returned, "rescored": mine,
                      "printed": doc.get("metrics")}))


if __name__ == "__main__":
    main()

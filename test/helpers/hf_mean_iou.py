"""Independent reference for src/metrics: HuggingFace evaluate's mean_iou algorithm restated in numpy.

Per image: drop pixels whose label is the ignore index, histogram the matching predictions (intersection),
the predictions and the labels over num_labels bins; sum the four histograms over all images; then
iou = intersect / union, acc = intersect / label area, nanmean for the means, overall = sum(intersect) / sum(label).

usage: hf_mean_iou.py INPUT.json   (INPUT: {"num_labels", "ignore_index", "images": [{"pred": [...], "label": [...]}]})
prints one JSON line; NaN becomes null.
"""
import json
import sys

import numpy as np


def main():
    spec = json.load(open(sys.argv[1]))
    k = spec["num_labels"]
    ignore = spec["ignore_index"]
    inter = np.zeros(k)
    union = np.zeros(k)
    area_label = np.zeros(k)
    for img in spec["images"]:
        pred = np.asarray(img["pred"], dtype=np.int64)
        label = np.asarray(img["label"], dtype=np.int64)
        mask = label != ignore
        pred, label = pred[mask], label[mask]
        hit = pred[pred == label]
        a_i = np.histogram(hit, bins=k, range=(0, k - 1))[0]
        a_p = np.histogram(pred, bins=k, range=(0, k - 1))[0]
        a_l = np.histogram(label, bins=k, range=(0, k - 1))[0]
        inter += a_i
        union += a_p + a_l - a_i
        area_label += a_l
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
        acc = inter / area_label
        overall = inter.sum() / area_label.sum()

    def clean(x):
        return None if np.isnan(x) else float(x)

    print(json.dumps({
        "meanIou": clean(np.nanmean(iou)) if not np.all(np.isnan(iou)) else None,
        "meanAccuracy": clean(np.nanmean(acc)) if not np.all(np.isnan(acc)) else None,
        "overallAccuracy": clean(overall),
        "perClassIou": [clean(v) for v in iou],
        "perClassAccuracy": [clean(v) for v in acc],
    }))


if __name__ == "__main__":
    main()

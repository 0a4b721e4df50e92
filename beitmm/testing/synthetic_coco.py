"""Deterministic synthetic scenes in the COCO 2017 instance-segmentation layout.

``<root>/annotations/instances_{train,val}2017.json`` and ``<root>/{train,val}2017/<id>.jpg``, as released: every
object is a filled polygon (square, triangle, disc as a 24-gon) drawn on a noisy textured background, with its COCO
``bbox`` (x, y, w, h), ``segmentation`` (one polygon), ``area`` (polygon area) and ``category_id``. Objects do not
overlap, so each polygon is exactly the visible mask. One generator per image, seeded by (seed, split, index).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

COCO_SHAPES = ('square', 'triangle', 'disc')
_SPLITS = {'train2017': 0, 'val2017': 1}


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Vertices [K, 2] of a shape of circumradius r centred at (cx, cy)."""
    k = {'square': 4, 'triangle': 3, 'disc': 24}[kind]
    t = angle + 2 * np.pi * np.arange(k) / k
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _scene(rng: np.random.Generator, size: int, max_objects: int) -> Tuple[np.ndarray, List[Dict]]:
    """One image [size, size, 3] uint8 and its objects (kind, polygon)."""
    base = rng.uniform(60, 190, size=3)
    img = base + rng.normal(0, 18, size=(size, size, 3))
    yy, xx = np.mgrid[0:size, 0:size]
    img += 25 * np.sin(xx / rng.uniform(4, 12) + rng.uniform(0, 6))[..., None]
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    objects, discs = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _try in range(20):  # rejection sampling: no overlap, so polygons are the visible masks
            r = rng.uniform(0.08, 0.22) * size
            cx, cy = rng.uniform(r, size - r, size=2)
            if all(np.hypot(cx - x, cy - y) > r + q + 2 for x, y, q in discs):
                break
        else:
            continue
        discs.append((cx, cy, r))
        kind = COCO_SHAPES[int(rng.integers(len(COCO_SHAPES)))]
        poly = _polygon(kind, cx, cy, r, rng.uniform(0, 2 * np.pi))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.polygon([tuple(p) for p in poly], fill=colour)
        objects.append(dict(kind=kind, polygon=poly))
    return np.asarray(canvas), objects


def make_coco_data(root: str, num_train: int = 16, num_val: int = 8, img_size: int = 64, max_objects: int = 3,
                   seed: int = 0) -> Dict:
    """Write a synthetic COCO 2017 instance-segmentation dataset.

    Args:
        root: Dataset root (created).
        num_train: Training images.
        num_val: Validation images.
        img_size: Image side (pixels).
        max_objects: Objects per image (1 .. max_objects).
        seed: Seed of the per-image generators.

    Returns:
        Dict with ``root``, ``classes``, the two annotation file paths and the counts of images and annotations.
    """
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(COCO_SHAPES)]
    info = dict(root=root, classes=COCO_SHAPES, annotations={})
    ann_id = 1
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, anns = [], []
        for i in range(count):
            rng = np.random.default_rng([seed, _SPLITS[split], i])
            img, objects = _scene(rng, img_size, max_objects)
            img_id = _SPLITS[split] * 100000 + i + 1
            name = f'{img_id:012d}.jpg'
            Image.fromarray(img).save(osp.join(root, split, name), quality=95)
            images.append(dict(id=img_id, file_name=name, height=img_size, width=img_size))
            for obj in objects:
                p = obj['polygon']
                x0, y0 = p.min(0)
                x1, y1 = p.max(0)
                anns.append(dict(id=ann_id, image_id=img_id, category_id=COCO_SHAPES.index(obj['kind']) + 1,
                                 bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                                 segmentation=[[float(v) for v in p.reshape(-1)]], area=_polygon_area(p),
                                 iscrowd=0))
                ann_id += 1
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(dict(images=images, annotations=anns, categories=categories), f)
        info['annotations'][split] = path
        info[f'num_{split}'] = (len(images), len(anns))
    return info

"""Tiny pretraining data in the real layouts, and a config shrinker for tests and demos.

Image-text pairs (JSON lines + image folder, and WebDataset tar shards written with ``webdataset.TarWriter``), an
image folder and a text file.

The scenes and captions are those of :mod:`beitmm.testing.synthetic_vl` (true of the images). Layout::

    root/pairs.jsonl                 {"image": "000000000.jpg", "caption": "A red circle on the left."}, one per line
    root/pair_images/000000000.jpg   the pair images
    root/shards/pairs-000000.tar ... the same pairs, img2dataset webdataset layout: key.jpg, key.txt, key.json
    root/images/000000000.jpg        images of other scenes (the image stream)
    root/texts.txt                   one text per line: captions of yet other scenes and question-answer sentences
    root/scenes.json                 image path (relative to root) -> its shapes
"""
import io
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np
from PIL import Image

from .synthetic import _prepare_root
from .synthetic_vl import captions, questions, render_scene, sample_scene

STREAMS = dict(pair=20, image=21, text=22)  # generator stream of each part (synthetic_vl uses 10-16)


def _jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG', quality=92)
    return buf.getvalue()


def _scene(seed: int, stream: str, i: int, size: int):
    rng = np.random.default_rng([seed, STREAMS[stream], i])
    scene = sample_scene(rng, size)
    return rng, scene, render_scene(rng, scene, size)


def make_pretrain_data(root: str, num_pairs: int = 64, num_images: int = 64, num_texts: int = 64, img_size: int = 32,
                       num_shards: int = 2, seed: int = 0, corrupt_pairs: Optional[Dict[int, str]] = None,
                       overwrite: bool = False) -> Dict:
    """Write the synthetic pretraining data (see the module doc for the layout).

    Args:
        root: Output directory (created; must be empty or earlier synthetic output).
        num_pairs: Image-text pairs (the same pairs in both layouts).
        num_images: Images of the image stream.
        num_texts: Lines of ``texts.txt`` (half captions, half question-answer sentences).
        img_size: Image side in pixels.
        num_shards: WebDataset shards the pairs are split into (contiguous, nearly equal).
        seed: Random seed.
        corrupt_pairs: Pair number -> ``'truncated'`` (JPEG cut in half), ``'missing'`` (no image file in the
            folder, no image member in the shard) or ``'empty'`` (empty caption), for bad-input tests.
        overwrite: Replace earlier synthetic output in ``root``.

    Returns:
        dict: ``root``, ``pairs_jsonl``, ``pair_images``, ``shards`` (list), ``shard_pattern`` (brace pattern),
        ``images_root``, ``texts_file``, ``captions`` (key -> caption), counts.
    """
    import webdataset as wds
    if num_shards < 1 or num_pairs < num_shards:
        raise ValueError(f'need 1 <= num_shards <= num_pairs, got {num_shards} shards for {num_pairs} pairs')
    corrupt_pairs = corrupt_pairs or {}
    _prepare_root(root, overwrite)
    for sub in ('pair_images', 'shards', 'images'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    scenes, caps, lines = {}, {}, []
    bounds = np.linspace(0, num_pairs, num_shards + 1).round().astype(int)
    shards = [osp.join(root, 'shards', f'pairs-{s:06d}.tar') for s in range(num_shards)]
    for s, path in enumerate(shards):
        with wds.TarWriter(path) as sink:
            for i in range(bounds[s], bounds[s + 1]):
                rng, scene, img = _scene(seed, 'pair', i, img_size)
                key, bad = f'{i:09d}', corrupt_pairs.get(i)
                caption = '' if bad == 'empty' else captions(rng, scene)[0]
                data = _jpeg(img)
                if bad == 'truncated':
                    data = data[:len(data) // 2]
                if bad != 'missing':
                    with open(osp.join(root, 'pair_images', f'{key}.jpg'), 'wb') as f:
                        f.write(data)
                sample = {'__key__': key, 'txt': caption,
                          'json': dict(key=key, caption=caption, width=img_size, height=img_size, status='success')}
                if bad != 'missing':
                    sample['jpg'] = data
                sink.write(sample)
                lines.append(json.dumps(dict(image=f'{key}.jpg', caption=caption)))
                caps[key] = caption
                scenes[f'pair_images/{key}.jpg'] = scene
    with open(osp.join(root, 'pairs.jsonl'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    for i in range(num_images):
        _, scene, img = _scene(seed, 'image', i, img_size)
        Image.fromarray(img).save(osp.join(root, 'images', f'{i:09d}.jpg'), format='JPEG', quality=92)
        scenes[f'images/{i:09d}.jpg'] = scene
    texts = []
    for i in range(num_texts):
        rng = np.random.default_rng([seed, STREAMS['text'], i])
        scene = sample_scene(rng, img_size)
        if i % 2 == 0:
            texts.append(captions(rng, scene)[0])
        else:
            q, a, _ = questions(rng, scene, 1)[0]
            texts.append(f'{q} {a[0].upper() + a[1:]}.')
    with open(osp.join(root, 'texts.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(texts) + '\n')
    with open(osp.join(root, 'scenes.json'), 'w', encoding='utf-8') as f:
        json.dump(scenes, f)
    return dict(root=root, pairs_jsonl=osp.join(root, 'pairs.jsonl'), pair_images=osp.join(root, 'pair_images'),
                shards=shards, shard_pattern=osp.join(root, 'shards', f'pairs-{{000000..{num_shards - 1:06d}}}.tar'),
                images_root=osp.join(root, 'images'), texts_file=osp.join(root, 'texts.txt'), captions=caps,
                num_pairs=num_pairs, num_images=num_images, num_texts=num_texts)


def _shrink_steps(steps: list, tokenizer: Optional[dict], img_size: int, patch_size: int, max_len: int) -> None:
    grid = img_size // patch_size
    for step in steps:
        kind = step['type'].rpartition('.')[2]
        if kind == 'RandomResizedCrop':
            step['scale'] = img_size
        elif kind == 'TwoViewRandomResizedCrop':
            step['size'] = img_size
        elif kind == 'Resize':
            step['scale'] = (img_size, img_size)
        elif kind == 'BlockwiseMaskGenerator':
            ratio = step.get('num_masking_patches', 75) / 196  # the 14 x 14 grid of the full-size configs
            step.update(input_size=grid, num_masking_patches=max(1, round(ratio * grid * grid)),
                        min_num_patches=1)
        elif kind == 'MaskText':
            if tokenizer is not None:
                step['tokenizer'] = tokenizer
            step['max_len'] = min(step.get('max_len', 64), max_len)


def shrink_pretrain_config(cfg, data: Dict, tokenizer: Optional[dict] = None, img_size: int = 32,
                           patch_size: int = 16, counts: Optional[Dict[str, int]] = None, num_workers: int = 0,
                           max_len: int = 24, webdataset: bool = False):
    """Point a config's ``beitmm.MultiSourceDataset`` train loader at :func:`make_pretrain_data` output, tiny.

    Args:
        cfg: An mmengine ``Config`` (changed in place and returned).
        data: The dict :func:`make_pretrain_data` returned.
        tokenizer: Tokenizer config for every ``beitmm.MaskText`` (e.g. ``beitmm.testing.vl.tiny_tokenizer()``).
        img_size: Image side.
        patch_size: Patch side (for the mask grid).
        counts: New per-step counts (default: keep the config's).
        num_workers: Dataloader workers.
        max_len: Cap of the text length.
        webdataset: Read the pairs from the shards instead of the JSON lines.

    Returns:
        The config.
    """
    loader = cfg.train_dataloader
    ds = loader.dataset
    sources = ds.sources
    roots = dict(image=dict(data_root=data['root'], data_prefix=dict(img_path='images')),
                 text=dict(data_root=osp.dirname(data['texts_file']), files=[osp.basename(data['texts_file'])]),
                 pair=dict(data_root=data['root'], ann_file='pairs.jsonl', data_prefix=dict(img_path='pair_images')))
    for name, src in sources.items():
        if name == 'pair' and webdataset:
            src = sources[name] = dict(type='beitmm.WebDatasetPairs', shards=data['shard_pattern'],
                                       pipeline=src['pipeline'])
        elif name == 'pair' and src['type'].endswith('WebDatasetPairs'):
            src['shards'] = data['shard_pattern']
        else:
            src.update(roots[name])
        _shrink_steps(src['pipeline'], tokenizer, img_size, patch_size, max_len)
    if counts is not None:
        ds.counts = dict(counts)
    loader.num_workers = num_workers
    loader.persistent_workers = num_workers > 0
    return cfg

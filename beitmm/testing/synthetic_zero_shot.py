"""Held-out single-shape scenes of the VL demo in the ImageNet layout, labelled by colour or by shape (zero-shot).

The scenes are drawn and painted as :mod:`beitmm.testing.synthetic_vl` draws them (one shape, any position, size
and the other attribute at random) from their own random stream, so no image is one the retrieval demo trains on.
Written: ``root/val/<class>/<index>.jpg`` (classes sorted, so folder order = label order), ``root/classes.txt`` (the
class names in that order) and ``root/templates.txt`` (the prompts, one ``{}`` each).
"""
import os.path as osp
from typing import Dict, List

import numpy as np

from .synthetic import _prepare_root
from .synthetic_vl import COLORS, KINDS, _save, render_scene, sample_scene

ZERO_SHOT_STREAM = 20  # not one of synthetic_vl.STREAMS: images the VL data never contain
ATTRIBUTES = {'color': tuple(COLORS), 'kind': tuple(KINDS)}


def prompt_templates(attribute: str) -> List[str]:
    """The prompts of one attribute's classes: the demo captions' ``A <colour> <shape>.`` over the other attribute.

    A choice fixed before any measurement (no search over prompts): the captions' own phrase, capitalised with a final
    period as the generated captions are, averaged over the attribute that is not being classified.

    Args:
        attribute: ``'color'`` or ``'kind'``.

    Returns:
        The templates, ``{}`` where the class name goes.
    """
    if attribute == 'color':
        return [f'A {{}} {kind}.' for kind in KINDS]
    if attribute == 'kind':
        return [f'A {color} {{}}.' for color in COLORS]
    raise ValueError(f'attribute must be one of {sorted(ATTRIBUTES)}, got {attribute!r}')


def make_zero_shot_data(root: str, attribute: str = 'color', per_class: int = 50, img_size: int = 64, seed: int = 0,
                        overwrite: bool = False) -> Dict:
    """Write ``per_class`` single-shape scenes per value of ``attribute`` in the ImageNet layout.

    Args:
        root: Output directory (created; must be empty or earlier synthetic output).
        attribute: ``'color'`` (4 classes) or ``'kind'`` (3 shapes).
        per_class: Images per class.
        img_size: Image side in pixels (the VL demo's: 64).
        seed: Random seed.
        overwrite: Replace earlier synthetic output in ``root``.

    Returns:
        ``root``, ``classes`` (label order), ``classes_file``, ``templates_file``, ``templates``, ``num_images``.
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f'attribute must be one of {sorted(ATTRIBUTES)}, got {attribute!r}')
    _prepare_root(root, overwrite)
    classes = sorted(ATTRIBUTES[attribute])
    for label, name in enumerate(classes):
        for i in range(per_class):
            rng = np.random.default_rng((seed, ZERO_SHOT_STREAM, list(ATTRIBUTES).index(attribute), label, i))
            scene = sample_scene(rng, img_size)
            while len(scene) != 1:  # one shape: its colour / kind is the image's label
                scene = sample_scene(rng, img_size)
            scene[0][attribute] = name
            _save(render_scene(rng, scene, img_size), osp.join(root, 'val', name, f'{i:04d}.jpg'))
    templates = prompt_templates(attribute)
    files = dict(classes_file=osp.join(root, 'classes.txt'), templates_file=osp.join(root, 'templates.txt'))
    for key, lines in (('classes_file', classes), ('templates_file', templates)):
        with open(files[key], 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
    return dict(files, root=root, classes=classes, templates=templates, num_images=len(classes) * per_class)

"""The zero-shot demo folders: ImageNet layout read by beitmm.ImageNet, labels true of the pixels, prompts per class."""
import colorsys

import numpy as np
import pytest
from PIL import Image

from beitmm.testing.synthetic_vl import COLORS
from beitmm.testing.synthetic_zero_shot import make_zero_shot_data, prompt_templates


def _hue_of_the_shape(path: str) -> float:
    """Median hue of the saturated pixels (the background has saturation 0.15, the shape 0.5 to 1)."""
    rgb = np.asarray(Image.open(path).convert('RGB'), np.float32).reshape(-1, 3) / 255
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in rgb])
    sat = hsv[(hsv[:, 1] > 0.45) & (hsv[:, 2] > 0.4)]
    angles = sat[:, 0] * 2 * np.pi  # circular median via the mean direction (red wraps around 0)
    return float(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean()) / (2 * np.pi) % 1)


def test_colour_folders_load_as_imagenet_and_show_their_colour(tmp_path):
    import beitmm.datasets  # noqa: F401
    from beitmm.registry import DATASETS
    info = make_zero_shot_data(str(tmp_path / 'color'), 'color', per_class=3, img_size=64)
    assert info['classes'] == sorted(COLORS) and info['num_images'] == 12
    ds = DATASETS.build(dict(type='beitmm.ImageNet', data_root=info['root'], split='val',
                             classes=info['classes_file'], pipeline=[]))
    assert list(ds.metainfo['classes']) == info['classes'] and len(ds) == 12
    for i in range(len(ds)):
        item = ds.get_data_info(i)
        name = info['classes'][item['gt_label']]
        assert f'/{name}/' in item['img_path']
        hue = _hue_of_the_shape(item['img_path'])
        gap = min(abs(hue - COLORS[name]), 1 - abs(hue - COLORS[name]))
        assert gap < 0.05, (item['img_path'], hue)
    with open(info['templates_file']) as f:
        assert f.read().splitlines() == ['A {} circle.', 'A {} square.', 'A {} triangle.']


def test_shape_prompts_and_bad_attribute(tmp_path):
    assert prompt_templates('kind') == [f'A {c} {{}}.' for c in COLORS]
    info = make_zero_shot_data(str(tmp_path / 'kind'), 'kind', per_class=1)
    assert info['classes'] == ['circle', 'square', 'triangle']
    with pytest.raises(ValueError, match='attribute must be one of'):
        make_zero_shot_data(str(tmp_path / 'x'), 'size')

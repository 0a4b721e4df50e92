"""beitmm.ApplyToList: an image pair with a corrupt image is skipped as a whole (mmpretrain's crashes on it)."""
import numpy as np
from PIL import Image

from beitmm.registry import TRANSFORMS


def _pair_transform():
    import beitmm.datasets  # noqa: F401
    return TRANSFORMS.build(dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img'],
                                 transforms=[dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip')]))


def test_a_pair_loads_both_images_and_a_corrupt_one_skips_the_sample(tmp_path):
    paths = []
    for i, value in enumerate((10, 200)):
        path = str(tmp_path / f'img{i}.png')
        Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)
        paths.append(path)
    out = _pair_transform()(dict(img_path=list(paths), text='both images are grey'))
    assert [int(im[0, 0, 0]) for im in out['img']] == [10, 200] and out['img_path'] == paths
    assert out['text'] == 'both images are grey'
    broken = str(tmp_path / 'broken.png')
    with open(paths[1], 'rb') as f:
        data = f.read()
    with open(broken, 'wb') as f:
        f.write(data[:len(data) // 2])  # truncated PNG: no IEND chunk
    assert _pair_transform()(dict(img_path=[paths[0], broken], text='x')) is None

"""The ELECTRA demo's text task: captions for pretraining and "caption -> colour of the first shape" JSON lines."""
import importlib.util
import json
import os.path as osp
import sys

from beitmm.datasets import TextClassificationDataset
from beitmm.testing.synthetic_vl import make_vl_data

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_write_text_task_labels_the_first_shapes_colour(tmp_path):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    spec = importlib.util.spec_from_file_location('demo_electra', osp.join(ROOT, 'tools', 'demo_electra.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    info = make_vl_data(str(tmp_path / 'vl'), num_train_images=4, num_val_images=5, img_size=32)
    sizes = demo.write_text_task(info['root'], str(tmp_path / 'task'))
    assert sizes['corpus'] == 5 * sizes['train'] and sizes['train'] >= 4
    ds = TextClassificationDataset(str(tmp_path / 'task' / 'cls_train.jsonl'), pipeline=[])
    scenes = json.load(open(info['scenes_file']))
    colours = {s[0]['color'] for s in scenes.values()}
    assert set(ds.metainfo['classes']) == colours
    for i in range(len(ds)):  # the caption names the colour of its label
        assert ds.metainfo['classes'][ds[i]['gt_label']] in ds[i]['text']

"""The ELECTRA demo: "caption -> colour of the first shape" JSON lines, final statistics from the log lines."""
import json

import pytest

from beitmm.datasets import TextClassificationDataset
from beitmm.testing.synthetic_vl import make_vl_data
from tools.demo.electra import final_stats, write_text_task
from tools.demo.progress import parse_log_line


def test_write_text_task_labels_the_first_shapes_colour(tmp_path):
    info = make_vl_data(str(tmp_path / 'vl'), num_train_images=4, num_val_images=5, img_size=32)
    sizes = write_text_task(info['root'], str(tmp_path / 'task'))
    assert sizes['corpus'] == 5 * sizes['train'] and sizes['train'] >= 4
    ds = TextClassificationDataset(str(tmp_path / 'task' / 'cls_train.jsonl'), pipeline=[])
    scenes = json.load(open(info['scenes_file']))
    colours = {s[0]['color'] for s in scenes.values()}
    assert set(ds.metainfo['classes']) == colours
    for i in range(len(ds)):  # the caption names the colour of its label
        assert ds.metainfo['classes'][ds[i]['gt_label']] in ds[i]['text']


def test_final_stats_average_the_last_logged_training_values():
    line = ('12/01 08:18:18 - mmengine - INFO - Iter(train) [{i}/300]  lr: 1.0000e-03  eta: 0:00:10  time: 0.1  '
            'loss: 4.0  resample_correct: {r:.4f}  disc_acc: 0.9000')
    records = [parse_log_line(line.format(i=10 * k, r=0.1 * k)) for k in range(1, 8)]
    records.append(parse_log_line('12/01 08:20:00 - mmengine - INFO - Iter(val) [5/5]  accuracy/top1: 50.0000'))
    stats = final_stats(records, last=5)
    assert stats == pytest.approx(dict(resample_correct=0.5, disc_acc=0.9))  # mean of 0.3 .. 0.7; no such key left
    assert final_stats(records, ('revdet_acc', ), last=5) == {}

"""tools/demo/det.py: the task is registered, the AP of the trivial baselines by hand, a 2-iteration detector stage."""
import json
import os.path as osp

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('pycocotools')

from tools.demo import det  # noqa: E402
from tools.demo.__main__ import TASKS, parse_args  # noqa: E402

CLASSES = ('square', 'triangle', 'disc')


def _rect(x0, y0, x1, y1):
    return [float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]


def _write_coco(path, images, objects):
    """A COCO file: ``images`` as (id, width, height), ``objects`` as (image id, category id, x0, y0, x1, y1)."""
    anns = [dict(id=k + 1, image_id=i, category_id=c, bbox=[x0, y0, x1 - x0, y1 - y0], area=(x1 - x0) * (y1 - y0),
                 segmentation=[_rect(x0, y0, x1, y1)], iscrowd=0) for k, (i, c, x0, y0, x1, y1) in enumerate(objects)]
    data = dict(images=[dict(id=i, file_name=f'{i}.jpg', width=w, height=h) for i, w, h in images], annotations=anns,
                categories=[dict(id=k + 1, name=n) for k, n in enumerate(CLASSES)])
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


@pytest.fixture
def val_file(tmp_path):
    # one 100 x 100 scene: a square covering the top 52% (IoU 0.52 with the whole image), a small triangle, no disc
    path = str(tmp_path / 'val.json')
    return path, _write_coco(path, [(1, 100, 100)], [(1, 1, 0, 0, 100, 52), (1, 2, 10, 60, 30, 80)])


def test_det_task_is_registered_with_its_options():
    assert TASKS['det'].run is det.run_det and TASKS['det'].add_arguments is det.add_det_arguments
    args = parse_args(['--task', 'det', '--det-iters', '2', '--det-train', '8'])
    assert (args.task, args.det_iters, args.det_train, args.det_val) == ('det', 2, 8, 100)


def test_help_default_is_the_configs_budget():
    from mmengine.config import Config

    from tools.demo.__main__ import build_parser
    cfg = Config.fromfile(det.DET_CFG, import_custom_modules=False)
    helps = {a.dest: a.help for a in build_parser()._actions}
    assert f'(config: {cfg.train_cfg.max_iters})' in helps['det_iters']
    assert cfg.model.backbone.img_size == cfg.img_size and cfg.param_scheduler[1].end == cfg.train_cfg.max_iters


def test_perfect_predictions_score_one(val_file):
    path, data = val_file
    boxes = {a['category_id'] - 1: (a['bbox'][0] / 100, a['bbox'][1] / 100, (a['bbox'][0] + a['bbox'][2]) / 100,
                                    (a['bbox'][1] + a['bbox'][3]) / 100) for a in data['annotations']}
    got = det.coco_metrics(path, CLASSES, det.box_predictions(data['images'], boxes))
    assert got['coco/bbox_mAP'] == 1.0 and got['coco/segm_mAP'] == 1.0 and got['coco/bbox_mAP_50'] == 1.0


def test_whole_image_baseline_by_hand(val_file):
    # square: IoU 0.52, a hit at the 0.5 threshold only (AP 1/10, AP50 1); triangle: IoU 0.04, AP 0; disc: no ground
    # truth, left out of the mean. So AP = (0.1 + 0) / 2 and AP50 = (1 + 0) / 2, for boxes and masks alike
    path, data = val_file
    preds = det.box_predictions(data['images'], dict.fromkeys(range(len(CLASSES)), det.WHOLE))
    assert preds[0]['masks'].all() and preds[0]['bboxes'].tolist() == [[0, 0, 100, 100]] * 3
    got = det.coco_metrics(path, CLASSES, preds)
    for kind in ('bbox', 'segm'):
        assert got[f'coco/{kind}_mAP'] == pytest.approx(0.05) and got[f'coco/{kind}_mAP_50'] == pytest.approx(0.5)


def test_mean_box_baseline_averages_relative_training_boxes(val_file, tmp_path):
    path, data = val_file
    # squares at the same relative place in a 100 px and a 50 px image; triangles at (.0,.5,.2,.7) and (.2,.7,.4,.9),
    # whose mean is the val triangle (.1,.6,.3,.8): both classes predicted exactly
    train = _write_coco(str(tmp_path / 'train.json'), [(1, 100, 100), (2, 50, 50)],
                        [(1, 1, 0, 0, 100, 52), (2, 1, 0, 0, 50, 26), (1, 2, 0, 50, 20, 70), (2, 2, 10, 35, 20, 45)])
    preds = det.mean_box_predictions(data['images'], train, [1, 2, 3])
    assert preds[0]['labels'].tolist() == [0, 1]  # no disc in training: no disc prediction
    assert preds[0]['bboxes'].ravel().tolist() == pytest.approx([0, 0, 100, 52, 10, 60, 30, 80])
    got = det.coco_metrics(path, CLASSES, preds)
    assert got['coco/bbox_mAP'] == 1.0 and got['coco/segm_mAP'] == 1.0


def test_two_iteration_detector_writes_its_row_and_figure(tmp_path, capsys):
    out, data = tmp_path / 'out', tmp_path / 'data'
    args = parse_args(['--task', 'det', '--out', str(out), '--data', str(data), '--det-train', '8', '--det-val', '4',
                       '--det-unlabeled', '2', '--progress-every', '0'])
    det.make_det_data(args, str(data / 'det'), 64)
    coco = str(data / 'det' / 'coco')
    assert osp.isfile(osp.join(coco, 'annotations', 'instances_val2017.json'))
    assert len(list((data / 'det' / 'unlabeled' / 'train2017').glob('*.jpg'))) == 2
    res = det.train_detector(args, coco, 'scratch', 2)
    assert osp.isfile(res['checkpoint']) and osp.isfile(out / 'det' / 'scratch' / 'val.bbox.json')
    assert 'Iter(train) [2/2]' in (out / 'det' / 'scratch.log').read_text()
    table = det.print_det_table({'from scratch': res, 'trivial': {'coco/bbox_mAP': 0.5}}, 4, 9, 2, 1.0)
    text = capsys.readouterr().out
    assert 'det scratch' in text and 'box AP50' in text and 'mask AP50' in text
    row = next(line for line in text.splitlines() if line.strip().startswith('from scratch'))
    assert len(row.split()) >= 6 and table['trivial']['box AP'] == 50.0 and table['trivial']['mask AP'] == 0.0
    png = str(out / 'predictions.png')
    det.draw_predictions(coco, {'scratch': str(out / 'det' / 'scratch' / 'val')}, png, top=2, n=2)
    assert osp.getsize(png) > 1000
    with pytest.raises(SystemExit, match='not written by the det demo'):
        (data / 'other').mkdir()
        det.make_det_data(args, str(data / 'other'), 64)

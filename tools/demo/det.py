"""The detection demo (``python tools/demo.py --task det``): Mask R-CNN with a tiny BEiT, pretrained vs scratch.

Stages (logs in demo_out/det/*.log): generated COCO-layout scenes (``beitmm.testing.synthetic_coco``: labeled train
and val scenes, and unlabeled scenes of the same generator whose labels are thrown away); a k-means visual vocabulary
of the unlabeled scenes (``tools/misc/fit_kmeans_tokenizer.py``); BEiT pretraining of the demos' tiny BEiT on them
(the vision demo's configs/demo/beit-tiny_demo_pretrain.py) while the detector trains from scratch beside it; then
the same detector (configs/demo/mask-rcnn_beit-tiny_demo_det.py, same recipe and budget) from that checkpoint
(backbone ``init_cfg``). It prints box / mask AP of both next to two trivial baselines scored by the same
``mmdet.CocoMetric`` on the same val set, and draws demo_out/det/predictions.png (ground truth, pretrained, scratch).
"""
import argparse
import contextlib
import io
import itertools
import json
import os
import os.path as osp
import shutil
import sys
from functools import partial
from typing import Dict, List, Sequence

from . import stages
from .stages import config_value, epoch_schedule, iter_schedule, load_text, rel, run_parallel, run_stage, say
from .vision import PRE_CFG

DET_CFG = osp.join(stages.ROOT, 'configs/demo/mask-rcnn_beit-tiny_demo_det.py')
MARKER = '.beitmm-demo-det'  # only folders carrying it are ever deleted
METRICS = (('box AP', 'coco/bbox_mAP'), ('box AP50', 'coco/bbox_mAP_50'), ('mask AP', 'coco/segm_mAP'),
           ('mask AP50', 'coco/segm_mAP_50'))
BASELINES = {'whole': 'trivial: whole image, every class', 'mean': 'trivial: mean train box of each class'}
TOP_SHOWN = 3  # detections drawn per scene in the figure (the highest scores, at least the test threshold 0.05)
WHOLE = (0., 0., 1., 1.)  # the whole image, relative x0, y0, x1, y1
_METRIC_RUNS = itertools.count()


def add_det_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the detection demo (budgets and data sizes).

    Args:
        group: Argument group to add them to.
    """
    group.add_argument('--det-iters', type=int, help='detector iterations (config: 1000)')
    group.add_argument('--det-pretrain-epochs', type=int, default=12, help='BEiT pretraining epochs (default 12)')
    group.add_argument('--det-train', type=int, default=400, help='labeled training scenes (default 400)')
    group.add_argument('--det-val', type=int, default=100, help='validation scenes (default 100)')
    group.add_argument('--det-unlabeled', type=int, default=1500, help='unlabeled scenes, pretraining (default 1500)')
    group.add_argument('--det-max-objects', type=int, default=4, help='objects per scene, 1 to this (default 4)')


def mean_box_predictions(images: Sequence[dict], train_ann: dict, categories: Sequence[int]) -> List[dict]:
    """The trivial detector: for every image and class, the mean training box of that class (full-box mask, score 1).

    Args:
        images: COCO ``images`` entries of the evaluated set.
        train_ann: The training annotation file's content (boxes relative to their image's size are averaged).
        categories: COCO category ids in label order.

    Returns:
        Predictions for :func:`coco_metrics`.
    """
    sizes = {im['id']: (im['width'], im['height']) for im in train_ann['images']}
    boxes = {}
    for label, cat in enumerate(categories):
        rel_boxes = [(x / sizes[a['image_id']][0], y / sizes[a['image_id']][1], (x + w) / sizes[a['image_id']][0],
                      (y + h) / sizes[a['image_id']][1]) for a in train_ann['annotations'] if a['category_id'] == cat
                     for x, y, w, h in [a['bbox']]]
        if rel_boxes:
            boxes[label] = tuple(sum(v) / len(rel_boxes) for v in zip(*rel_boxes, strict=True))
    return box_predictions(images, boxes)


def box_predictions(images: Sequence[dict], boxes: Dict[int, tuple]) -> List[dict]:
    """One prediction per ``boxes`` entry for every image: the box (relative x0, y0, x1, y1), its filled mask, score 1.

    Args:
        images: COCO ``images`` entries.
        boxes: ``label -> (x0, y0, x1, y1)`` relative to the image's size.

    Returns:
        Predictions for :func:`coco_metrics`.
    """
    import numpy as np
    preds = []
    for im in images:
        h, w = im['height'], im['width']
        xyxy = np.array([[x0 * w, y0 * h, x1 * w, y1 * h] for x0, y0, x1, y1 in boxes.values()], np.float32)
        masks = np.zeros((len(boxes), h, w), bool)
        for k, (x0, y0, x1, y1) in enumerate(xyxy):
            masks[k, int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))] = True
        preds.append(dict(img_id=im['id'], height=h, width=w, bboxes=xyxy, labels=np.array(list(boxes), np.int64),
                          scores=np.ones(len(boxes), np.float32), masks=masks))
    return preds


def coco_metrics(ann_file: str, classes: Sequence[str], preds: Sequence[dict]) -> Dict[str, float]:
    """Box and mask AP of predictions with ``mmdet.CocoMetric``, the metric of the detectors' validation.

    Args:
        ann_file: COCO annotation file of the evaluated images.
        classes: Class names in label order.
        preds: Per image: ``img_id``, ``height``, ``width``, ``bboxes`` [N, 4] (x0, y0, x1, y1), ``labels``, ``scores``,
            ``masks`` [N, H, W] bool.

    Returns:
        CocoMetric's results (``coco/bbox_mAP``, ``coco/segm_mAP_50``, ...; fractions, rounded to 3 decimals).
    """
    import torch
    from mmdet.evaluation import CocoMetric
    from mmengine.logging import MMLogger
    MMLogger.get_instance(f'det-demo-metric-{next(_METRIC_RUNS)}', log_level='WARNING')  # CocoMetric logs to it
    samples = [dict(img_id=p['img_id'], ori_shape=(p['height'], p['width']), pred_instances=dict(
        bboxes=torch.as_tensor(p['bboxes']), labels=torch.as_tensor(p['labels']),
        scores=torch.as_tensor(p['scores']), masks=torch.as_tensor(p['masks']))) for p in preds]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' loading messages and summary tables
        metric = CocoMetric(ann_file=ann_file, metric=['bbox', 'segm'])
        metric.dataset_meta = dict(classes=tuple(classes))
        metric.process({}, samples)
        return dict(metric.evaluate(len(samples)))


def make_det_data(args: argparse.Namespace, root: str, size: int) -> None:
    """Generate the labeled scenes (``root/coco``) and the unlabeled ones (``root/unlabeled/train2017``) as a stage.

    Args:
        args: Demo options.
        root: The demo's data folder (replaced when it carries :data:`MARKER`).
        size: Scene side in pixels (the detector config's ``img_size``).
    """
    if osp.isdir(root):
        if not osp.isfile(osp.join(root, MARKER)):
            sys.exit(f'[demo] {root} exists and was not written by the det demo: give another --data')
        shutil.rmtree(root)
    os.makedirs(root)
    open(osp.join(root, MARKER), 'w').close()
    n = args.det_max_objects
    code = ('from beitmm.testing.synthetic_coco import make_coco_data\n'
            f'print(make_coco_data({root + "/coco"!r}, {args.det_train}, {args.det_val}, {size}, {n}, seed=0))\n'
            f'print(make_coco_data({root + "/unlabeled"!r}, {args.det_unlabeled}, 0, {size}, {n}, seed=1))\n')
    run_stage('det data', [sys.executable, '-c', code], osp.join(args.out, 'det', 'data.log'), threads=args.threads)


def train_detector(args: argparse.Namespace, coco: str, init: str, iters: int, load: Sequence[str] = ()) -> Dict:
    """Train the demo detector (a ``tools/train.py`` stage, work dir ``<out>/det/<init>``) and read its validation.

    Args:
        args: Demo options (``out``, ``threads``, ``progress_every``).
        coco: The generated COCO-layout root.
        init: ``'scratch'`` or ``'pretrained'`` (stage and work dir name).
        iters: Training iterations (validated at the end; predictions dumped to ``<work>/val.{bbox,segm}.json``).
        load: More ``--cfg-options`` (the pretrained backbone's ``init_cfg``).

    Returns:
        The final CocoMetric results (none when nothing was detected), ``checkpoint``, ``seconds``, ``records``.
    """
    work, ann = osp.join(args.out, 'det', init), osp.join(coco, 'annotations', 'instances_val2017.json')
    opts = [f'{k}.dataset.data_root={coco}/' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    warm = config_value(DET_CFG, 'param_scheduler.0.end')
    opts += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
             f'val_evaluator.outfile_prefix={work}/val', *iter_schedule(iters, warm), *load]
    return stages.train_stage(args, f'det {init}', DET_CFG, work, opts, evaluate=False)


def run_det(args: argparse.Namespace) -> None:
    """Generate the scenes, pretrain, train the detector from scratch and from the checkpoint, print the table.

    Args:
        args: Parsed demo options.
    """
    out, root, py = osp.join(args.out, 'det'), osp.join(args.data, 'det'), sys.executable
    os.makedirs(out, exist_ok=True)
    size, iters = config_value(DET_CFG, 'img_size'), args.det_iters or config_value(DET_CFG, 'train_cfg.max_iters')
    say(f'det task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}/*.log')
    say(f'1/4 data: {args.det_train} + {args.det_val} labeled and {args.det_unlabeled} unlabeled {size} px scenes '
        f'(1-{args.det_max_objects} squares / triangles / discs); k-means vocabulary of the unlabeled ones')
    make_det_data(args, root, size)
    coco, vocab = osp.join(root, 'coco'), osp.join(root, 'kmeans_256.pth')

    def pretrain() -> Dict:
        run_stage('det vocabulary', [py, 'tools/misc/fit_kmeans_tokenizer.py', f'{root}/unlabeled/train2017', vocab,
                                     '--patch-size', '8', '--vocab-size', '256', '--view-size', str(size)],
                  osp.join(out, 'vocab.log'), threads=args.threads)
        epochs = args.det_pretrain_epochs
        return stages.train_stage(args, 'det pretrain', PRE_CFG, osp.join(out, 'pretrain'), [
            f'train_dataloader.dataset.data_root={root}/unlabeled/train2017',
            f'model.target_generator.checkpoint={vocab}',
            *epoch_schedule(epochs, config_value(PRE_CFG, 'param_scheduler.0.end'))], max_epochs=epochs, evaluate=False)

    say(f'2/4 BEiT pretraining of the tiny BEiT on the unlabeled scenes, {args.det_pretrain_epochs} epochs'
        + ('; beside it, ' if args.jobs > 1 else ', then ') + f'the detector from scratch, {iters} iterations')
    pre, scratch = run_parallel([pretrain, partial(train_detector, args, coco, 'scratch', iters)], min(args.jobs, 2))
    say('3/4 the same detector (recipe, budget) from the pretrained checkpoint')
    # the backbone's own Pretrained init (not load_from: BEiTConverter.convert_model leaves the window tables unresized)
    pretrained = train_detector(args, coco, 'pretrained', iters, [
        'model.backbone.init_cfg._delete_=True', 'model.backbone.init_cfg.type=Pretrained',
        f'model.backbone.init_cfg.checkpoint={pre["checkpoint"]}'])
    say('4/4 trivial baselines (same mmdet.CocoMetric, same val set) and the predictions figure')
    ann = osp.join(coco, 'annotations', 'instances_val2017.json')
    with open(ann) as f:
        val = json.load(f)
    with open(osp.join(coco, 'annotations', 'instances_train2017.json')) as f:
        train = json.load(f)
    classes = [c['name'] for c in val['categories']]
    rows = {'BEiT-pretrained': pretrained, 'from scratch': scratch,
            BASELINES['whole']: coco_metrics(ann, classes, box_predictions(val['images'], dict.fromkeys(
                range(len(classes)), WHOLE))),
            BASELINES['mean']: coco_metrics(ann, classes, mean_box_predictions(
                val['images'], train, [c['id'] for c in val['categories']]))}
    png = osp.join(out, 'predictions.png')
    draw_predictions(coco, {'BEiT-pretrained': osp.join(out, 'pretrained', 'val'),
                            'from scratch': osp.join(out, 'scratch', 'val')}, png, top=TOP_SHOWN)
    table = print_det_table(rows, len(val['images']), len(val['annotations']), iters, pre['seconds'])
    print(f'  predictions          : {rel(png)} (the {TOP_SHOWN} highest-scoring detections of each scene)')
    secs = {k: round(r['seconds'], 1) for k, r in (('pretrain', pre), ('pretrained', pretrained), ('scratch', scratch))}
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(table=table, iters=iters, pretrain_epochs=args.det_pretrain_epochs, seconds=secs), f, indent=2)


def print_det_table(rows: Dict[str, Dict], n_images: int, n_objects: int, iters: int, pre_seconds: float) -> Dict:
    """Print box / mask AP (percent) of each row; a detector without any detection scores 0.

    Args:
        rows: ``name -> metrics`` (CocoMetric keys; a run with no detection has none of them).
        n_images: Validation images.
        n_objects: Validation objects.
        iters: Detector iterations.
        pre_seconds: Wall time of the pretraining.

    Returns:
        ``name -> {column: AP in percent}``.
    """
    print(f'\n[demo] det: Mask R-CNN, tiny BEiT (4 blocks, width 96), {iters} iterations from BEiT pretraining '
          f'({pre_seconds:.0f}s) and from scratch; COCO AP in % on {n_images} generated val scenes '
          f'({n_objects} objects), mmdet CocoMetric')
    print(f'  {"":40s}' + ''.join(f'{name:>10s}' for name, _ in METRICS))
    table = {}
    for name, metrics in rows.items():
        table[name] = {col: round(100 * metrics.get(key, 0.0), 1) for col, key in METRICS}
        note = '' if METRICS[0][1] in metrics else '  (no detection above the score threshold)'
        print(f'  {name:40s}' + ''.join(f'{v:10.1f}' for v in table[name].values()) + note)
    print('  trivial rows: one score-1 prediction per class on every val image, its mask the whole box')
    return table


def draw_predictions(coco: str, runs: Dict[str, str], png: str, top: int = 3, n: int = 4) -> None:
    """Draw the first ``n`` val scenes: ground truth, then each run's ``top`` best-scoring boxes and masks.

    Args:
        coco: The generated COCO-layout root.
        runs: ``title -> outfile prefix`` of a validation (``PREFIX.bbox.json`` / ``PREFIX.segm.json``).
        png: Output path.
        top: Detections drawn per scene and run.
        n: Scenes (rows).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(osp.join(coco, 'annotations', 'instances_val2017.json'))
    names = {c['id']: c['name'] for c in gt.loadCats(gt.getCatIds())}
    colours = {cid: plt.cm.tab10(i)[:3] for i, cid in enumerate(sorted(names))}
    img_ids = sorted(gt.getImgIds())[:n]
    columns = {'ground truth': {i: [dict(a, score=1.0) for a in gt.loadAnns(gt.getAnnIds(imgIds=i))] for i in img_ids}}
    for title, prefix in runs.items():
        dets = {i: [] for i in img_ids}
        if osp.isfile(f'{prefix}.segm.json'):
            with open(f'{prefix}.segm.json') as f:
                for d in json.load(f):
                    if d['image_id'] in dets:
                        dets[d['image_id']].append(d)
        columns[title] = {i: sorted(ds, key=lambda d: -d['score'])[:top] for i, ds in dets.items()}
    fig, axes = plt.subplots(len(img_ids), len(columns), figsize=(2.6 * len(columns), 2.6 * len(img_ids)),
                             squeeze=False)
    for r, img_id in enumerate(img_ids):
        info = gt.loadImgs(img_id)[0]
        img = np.asarray(Image.open(osp.join(coco, 'val2017', info['file_name'])).convert('RGB'), np.float32) / 255
        for c, (title, dets) in enumerate(columns.items()):
            ax, shown = axes[r, c], img.copy()
            for d in dets[img_id]:
                seg = d['segmentation']
                rle = mask_utils.frPyObjects(seg, info['height'], info['width']) if isinstance(seg, list) else seg
                m = mask_utils.decode(mask_utils.merge(rle) if isinstance(rle, list) else rle).astype(bool)
                shown[m] = 0.5 * shown[m] + 0.5 * np.array(colours[d['category_id']])
            ax.imshow(shown, interpolation='nearest')
            for d in dets[img_id]:
                x, y, w, h = d['bbox'] if 'bbox' in d else mask_utils.toBbox(d['segmentation'])
                ax.add_patch(plt.Rectangle((x - .5, y - .5), w, h, fill=False, lw=1.2, ec=colours[d['category_id']]))
                ax.text(x - .5, y - 1, f"{names[d['category_id']]} {d['score']:.2f}" if c else names[d['category_id']],
                        fontsize=6, color='white', bbox=dict(fc=colours[d['category_id']], lw=0, pad=0.5))
            ax.set_axis_off()
            if r == 0:
                ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)

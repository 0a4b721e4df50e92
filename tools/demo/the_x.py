"""The THE-X demo (``python tools/demo.py --task the-x``): train, convert, distil, then classify on ciphertext.

Stages (``tools/train.py`` runs, logs in demo_out/the_x/*.log): generated shape images at 32 px
(``make_demo_data.py --only imagenet --img-size 32``); the original tiny BEiT classifier
(configs/demo/beit-tiny_demo-the-x_cls.py); its THE-X conversion (GELU -> ReLU at the client, THE-X softmax, LayerNorm
-> affine map; ``tools/the_x/convert.py``'s API); distillation stage 1 (replacements only) and stage 2 (all
weights) through the Runner (configs/demo/the-x_beit-tiny_demo-stage{1,2}_cls.py); then ``--the-x-samples`` validation
images classified on TenSEAL CKKS ciphertext by the client / server protocol of ``beitmm.he``. Printed: validation
accuracy of the original, the converted-undistilled, and the distilled approximated model (plaintext), the accuracy
of all of them and of the encrypted run on the encrypted samples, the agreement of encrypted and plaintext
predictions, the largest logit difference and the time per encrypted sample.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Tuple

from .stages import load_text, rel, run_stage, say, train_stage

TEACHER_CFG = 'configs/demo/beit-tiny_demo-the-x_cls.py'
STAGE1_CFG = 'configs/demo/the-x_beit-tiny_demo-stage1_cls.py'
STAGE2_CFG = 'configs/demo/the-x_beit-tiny_demo-stage2_cls.py'


def add_the_x_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the THE-X demo."""
    group.add_argument('--the-x-train-per-class', type=int, default=300, help='training images per class (300)')
    group.add_argument('--the-x-epochs', type=int, nargs=3, default=(40, 5, 10), metavar=('TEACHER', 'S1', 'S2'),
                       help='epochs of the teacher and of the two distillation stages (default 40 5 10)')
    group.add_argument('--the-x-samples', type=int, default=6, help='validation images classified encrypted (6)')


def _schedule(epochs: int, cosine_index: int) -> List[str]:
    return [f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
            f'param_scheduler.{cosine_index}.end={epochs}', f'default_hooks.checkpoint.interval={epochs}']


def _batches(root: str, split: str = 'val') -> Tuple[list, list]:
    """Normalised images [B, 3, 32, 32] of a split (the config's test pipeline and preprocessor) and labels."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from beitmm.registry import MODELS
    cfg = Config.fromfile(TEACHER_CFG)
    init_default_scope('mmpretrain')
    cfg.val_dataloader.dataset.update(data_root=root, split=split)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    pre = MODELS.build(dict(type='mmpretrain.ClsDataPreprocessor', **cfg.data_preprocessor))
    images, labels = [], []
    for batch in loader:
        data = pre(batch, False)
        images.append(data['inputs'])
        labels.append(torch.cat([s.gt_label for s in data['data_samples']]))
    return images, labels


def _accuracy(model, images: list, labels: list) -> float:
    import torch
    with torch.no_grad():
        pred = torch.cat([model(x, mode='tensor').argmax(-1) for x in images])
    return float((pred == torch.cat(labels)).float().mean() * 100)


def run_the_x(args: argparse.Namespace) -> None:
    """Data, original model, conversion, two distillation stages, encrypted inference, the table.

    Args:
        args: Parsed demo options.
    """
    import numpy as np
    import torch

    from beitmm.he import CIRCUIT_DEPTH, derive_params, encrypted_inference, make_context, plan_image_classifier
    from beitmm.models.algorithms import load_student
    from beitmm.models.the_x import calibrate_student
    from beitmm.models.the_x.checkpoints import convert_from_config
    out, py = osp.join(args.out, 'the_x'), sys.executable
    data = osp.join(args.data, 'the_x')
    root = osp.join(data, 'imagenet')
    os.makedirs(out, exist_ok=True)
    e_teacher, e_s1, e_s2 = args.the_x_epochs
    say(f'the-x task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}')
    say(f'1/5 data: 4 shape classes, {args.the_x_train_per_class} train + 25 val images per class, 32 px')
    run_stage('the-x data', [py, 'tools/misc/make_demo_data.py', '--out', data, '--only', 'imagenet',
                             '--img-size', '32', '--train-per-class', str(args.the_x_train_per_class),
                             '--val-per-class', '25', '--overwrite'], osp.join(out, 'data.log'),
              threads=args.threads)
    roots = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    say(f'2/5 the original model: tiny BEiT (width 32, 2 blocks, 2 heads, 16 px patches), {e_teacher} epochs')
    teacher = train_stage(args, 'the-x original', TEACHER_CFG, osp.join(out, 'original'),
                          [*roots, *_schedule(e_teacher, 1)], max_epochs=e_teacher)
    say('3/5 conversion (GELU -> ReLU at the client, THE-X softmax, LayerNorm -> affine) and distillation: '
        f'stage 1 (replacements only, {e_s1} epochs), stage 2 (all weights, {e_s2} epochs)')
    converted, report = convert_from_config(STAGE1_CFG, teacher['checkpoint'], osp.join(out, 'converted.pth'))
    say(f'   converter: {len(report["kept"])} weights kept, {len(report["replaced"])} LayerNorm entries '
        f'replaced, {len(report["added"])} added')
    opts = [*roots, f'model.teacher_checkpoint={teacher["checkpoint"]}']
    s1 = train_stage(args, 'the-x distill 1', STAGE1_CFG, osp.join(out, 'distill1'), [*opts, *_schedule(e_s1, 0)],
                     max_epochs=e_s1)
    s2 = train_stage(args, 'the-x distill 2', STAGE2_CFG, osp.join(out, 'distill2'),
                     [*opts, *_schedule(e_s2, 0), f'load_from={s1["checkpoint"]}'], max_epochs=e_s2)
    from mmengine.config import Config
    cfg2 = Config.fromfile(STAGE2_CFG)
    cfg2.model.teacher_checkpoint = teacher['checkpoint']
    student = load_student(cfg2.model, s2['checkpoint'])
    images, labels = _batches(root)
    from beitmm.models.the_x import load_weights
    from beitmm.registry import MODELS
    teacher_model = MODELS.build(cfg2.model.teacher)
    load_weights(teacher_model, teacher['checkpoint'])
    teacher_model.eval()
    calib = _batches(root, 'train')[0][0]  # what the distiller calibrates on: one training batch
    calibrate_student(teacher_model, converted, lambda m: m(calib, mode='tensor'))
    accs = {'original': _accuracy(teacher_model, images, labels), 'converted': _accuracy(converted, images, labels),
            'distilled': _accuracy(student, images, labels)}

    k = args.the_x_samples
    all_x, all_y = torch.cat(images), torch.cat(labels)
    pick = torch.linspace(0, len(all_x) - 1, k).round().long()  # spread over the classes (sorted by class)
    x, y = all_x[pick], all_y[pick]
    params = derive_params(CIRCUIT_DEPTH, plan_image_classifier(student).slots)
    say(f'4/5 encrypted inference of {k} validation images: CKKS N={params.poly_modulus_degree}, coeff '
        f'{params.coeff_mod_bit_sizes}, scale 2^{params.scale_bits} (depth {CIRCUIT_DEPTH} between refreshes)')
    t = time.perf_counter()
    run = encrypted_inference(student, x, make_context(params))
    total = time.perf_counter() - t
    with torch.no_grad():
        plain = student(x, mode='tensor').double().numpy()
        teacher_pred = teacher_model(x, mode='tensor').argmax(-1)
        conv_pred = converted(x, mode='tensor').argmax(-1)
    enc_pred = torch.from_numpy(run.logits.argmax(-1))
    sub = {'original': float((teacher_pred == y).float().mean() * 100),
           'converted': float((conv_pred == y).float().mean() * 100),
           'distilled': float((torch.from_numpy(plain.argmax(-1)) == y).float().mean() * 100),
           'encrypted': float((enc_pred == y).float().mean() * 100)}
    rel_diff = float(np.abs(run.logits - plain).max() / np.abs(plain).max())
    agree = int((enc_pred == torch.from_numpy(plain.argmax(-1))).sum())
    w = run.wire
    say('5/5 results (chance 25%)')
    rows: Dict[str, Tuple[str, str]] = {
        'original (GELU, softmax, LayerNorm)': (f'{accs["original"]:.1f}', f'{sub["original"]:.1f}'),
        'converted + calibrated, not distilled': (f'{accs["converted"]:.1f}', f'{sub["converted"]:.1f}'),
        'THE-X distilled (plaintext)': (f'{accs["distilled"]:.1f}', f'{sub["distilled"]:.1f}'),
        'THE-X distilled, encrypted (CKKS)': ('-', f'{sub["encrypted"]:.1f}'),
    }
    print(f'{"model":<40}{"val acc % (100)":>16}{f"acc % ({k} encrypted)":>22}')
    for name, (a, b) in rows.items():
        print(f'{name:<40}{a:>16}{b:>22}')
    print(f'encrypted vs plaintext distilled: {agree}/{k} same predictions, max relative logit difference '
          f'{rel_diff:.1e}')
    print(f'time per encrypted sample: {total / k:.1f} s (median {np.median(run.seconds_per_sample):.1f} s; '
          f'client work {w.client_seconds / k:.2f} s); {w.round_trips // k} client round trips / sample '
          f'({ {o: n // k for o, n in w.by_op.items()} }); largest ciphertext {w.max_ciphertext_bytes / 1e3:.0f} KB; '
          f'{(w.bytes_to_server + w.bytes_to_client) / k / 1e6:.0f} MB exchanged / sample')
    print('per layer (s / sample): ' + ', '.join(f'{n} {s / k:.2f}' for n, s in run.server_seconds.items()))
    print(f'out-of-range inputs seen by the client: {w.out_of_range} of {w.checked}')
    print(f'stage times: original {teacher["seconds"]:.0f} s, distill 1 {s1["seconds"]:.0f} s, distill 2 '
          f'{s2["seconds"]:.0f} s, encrypted {total:.0f} s')

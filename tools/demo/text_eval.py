"""The text demo's last stage: plaintext accuracies of the THE-X models, then the first test sentences on ciphertext.

    python -m tools.demo.text_eval DISTILL_CFG --teacher T.pth --student S.pth --out result.json
        [--he-sentences 1] [--he-max-tokens N] [--cfg-options KEY=VALUE ...]

Run by ``tools/demo.py --task text`` as a stage (a child process, so it runs beside a training stage). It builds,
from the distillation config (``configs/the_x/the-x_minilm-l6_polarity.py`` with the demo's ``--cfg-options``):
the original model (the teacher checkpoint), its THE-X conversion calibrated on 16 training sentences (every 10th in
file order, a choice; not distilled), and the distilled student (the distillation checkpoint). It scores the three
on the 40 test sentences (plaintext), then classifies the first ``--he-sentences`` test sentences in file order on
CKKS ciphertext with :func:`beitmm.he.encrypted_text_inference` and writes everything to ``--out`` (JSON).
"""
import argparse
import json
import time
from typing import Dict, List, Optional, Sequence

CALIB_EVERY = 10  # calibration sentences of the converted row: training sentences 0, 10, 20, ... (choice)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='the THEXDistiller config')
    p.add_argument('--teacher', required=True, help='checkpoint of the original (fine-tuned) classifier')
    p.add_argument('--student', required=True, help='checkpoint of the distillation run')
    p.add_argument('--out', required=True, help='JSON file of the results')
    p.add_argument('--he-sentences', type=int, default=1, help='first test sentences classified encrypted (1)')
    p.add_argument('--he-max-tokens', type=int, default=None,
                   help='truncate the encrypted sentences to this many tokens (quick checks only)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, help='config overrides')
    return p.parse_args(argv)


def _accuracy(logits, labels) -> float:
    return float((logits.argmax(-1) == labels).double().mean() * 100)


def evaluate(args: argparse.Namespace) -> Dict:
    """Plaintext accuracies, then the encrypted run; see the module docstring.

    Args:
        args: Parsed options.

    Returns:
        The figures written to ``--out``.
    """
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from beitmm.datasets import PolarityDataset
    from beitmm.he import encrypted_text_inference
    from beitmm.models.algorithms import load_student
    from beitmm.models.the_x import calibrate_student
    from beitmm.registry import MODELS

    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.model.teacher_checkpoint = args.teacher
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'data_preprocessor'}
    test = PolarityDataset(split='test', lazy_init=False)
    train = PolarityDataset(split='train', lazy_init=False)
    texts: List[str] = [test.get_data_info(i)['text'] for i in range(len(test))]
    labels = torch.tensor([test.get_data_info(i)['gt_label'] for i in range(len(test))])
    calib = [train.get_data_info(i)['text'] for i in range(0, len(train), CALIB_EVERY)]

    distiller = MODELS.build(model_cfg)  # loads the teacher, converts it (not calibrated yet)
    teacher, converted = distiller.teacher.eval(), distiller.student.eval()
    with torch.no_grad():
        calibrate_student(teacher, converted, lambda m: m.logits(calib),
                          sequential=model_cfg.get('calibrate') == 'sequential')
    student = load_student(model_cfg, args.student)
    models = {'original': teacher, 'converted': converted, 'distilled': student}
    with torch.no_grad():
        logits = {k: m.logits(texts) for k, m in models.items()}  # [40, 2] each
    accs = {k: _accuracy(v, labels) for k, v in logits.items()}

    k = args.he_sentences
    he_texts, he_labels = texts[:k], labels[:k]  # the first test sentences in file order (choice)
    if args.he_max_tokens:
        for m in models.values():
            m.max_len = args.he_max_tokens
    tokens = [len(student.tokenizer.encode_batch([t], student.max_len, 'silent', 'longest')['input_ids'][0])
              for t in he_texts]
    with torch.no_grad():  # one at a time, unpadded, as the encrypted run sees them
        sub_logits = {name: torch.cat([m.logits([t]) for t in he_texts]) for name, m in models.items()}
    t0 = time.perf_counter()
    run = encrypted_text_inference(student, he_texts)
    seconds = time.perf_counter() - t0
    plain = sub_logits['distilled'].double().numpy()
    diff = np.abs(run.logits - plain)
    sub = {name: _accuracy(v, he_labels) for name, v in sub_logits.items()}
    sub['encrypted'] = _accuracy(torch.from_numpy(run.logits), he_labels)
    w = run.wire
    return dict(
        accuracy=accs, test_sentences=len(texts), calibration_sentences=len(calib),
        he=dict(sentences=k, tokens=tokens, max_tokens=args.he_max_tokens, accuracy=sub,
                agree=int((run.logits.argmax(-1) == plain.argmax(-1)).sum()),
                max_abs_diff=float(diff.max()), max_rel_diff=float(diff.max() / np.abs(plain).max()),
                encrypted_logits=run.logits.tolist(), plain_logits=plain.tolist(),
                seconds=seconds, seconds_per_sentence=list(run.seconds_per_sample),
                round_trips=w.round_trips, megabytes=(w.bytes_to_server + w.bytes_to_client) / 1e6,
                out_of_range=sum(w.out_of_range.values()), checked=sum(w.checked.values())))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Evaluate and write the JSON (see the module docstring).

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    result = evaluate(args)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != 'he'}))
    print(json.dumps({k: v for k, v in result['he'].items() if 'logits' not in k}))


if __name__ == '__main__':
    main()

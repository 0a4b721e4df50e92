"""ELECTRA and text-classification configs shrunk to tiny shapes for tests (tiny encoders, tiny vocabularies)."""
import json
from typing import List

from .vl import TINY_BEIT3, corpus, tiny_tokenizer


def write_electra_corpus(root, n: int = 16, seed: int = 7) -> List[str]:
    """Write ``root/train.src`` (one generated text per line; the config's ``ann_file``) and return the texts."""
    lines = corpus(n, seed=seed)
    (root / 'train.src').write_text(''.join(t + '\n' for t in lines))
    return lines


def shrink_electra_config(cfg, data_root: str, work_dir: str, batch_size: int = 4, iters: int = 2):
    """Make a shipped ELECTRA config run in seconds on CPU: its own discriminator family at tiny size.

    BertEncoder discriminators get the ``tiny`` preset (width 32), BEiT-3 text branches a 2-layer, 32-wide arch;
    the generator becomes a 1-layer, 16-wide BertEncoder with ``embedding_size`` 32 (tied); vocabulary 160 (the
    tiny SentencePiece for BEiT-3, else the tiny WordPiece); texts of 16 tokens; ``iters`` iterations.

    Args:
        cfg: The loaded config (changed in place and returned).
        data_root: Folder with ``train.src``.
        work_dir: Run directory.
        batch_size: Batch size.
        iters: Training iterations (a checkpoint at each).

    Returns:
        The config.
    """
    m = cfg.model
    beit3 = m.backbone.type.endswith('BEiT3')
    if beit3:
        m.backbone.update(arch=dict(TINY_BEIT3), vocab_size=160, max_text_positions=64, init_cfg=None)
    else:
        m.backbone.update(arch='tiny', vocab_size=160, max_position_embeddings=40, embedding_size=None,
                          init_cfg=None)
    m.generator.update(arch=dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), vocab_size=160,
                       embedding_size=32, max_position_embeddings=40)
    m.tokenizer = tiny_tokenizer('spm' if beit3 else 'wordpiece')
    m.max_len = 16
    cfg.train_dataloader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.update(interval=1, by_epoch=False, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


def write_text_cls_data(root, n: int = 24, seed: int = 5) -> None:
    """Write ``cls_train.jsonl`` / ``cls_val.jsonl`` (2 / 1 split) of generated texts labelled by word count mod 4."""
    lines = corpus(n, seed=seed)
    cut = n * 2 // 3
    for name, part in (('cls_train.jsonl', lines[:cut]), ('cls_val.jsonl', lines[cut:])):
        (root / name).write_text(''.join(json.dumps(dict(text=t, label=len(t.split()) % 4)) + '\n' for t in part))


def shrink_text_cls_config(cfg, data_root: str, work_dir: str, bert: bool = False):
    """A text-classification config (or a THE-X distillation of one) at tiny size: 160 words, 16 tokens, 2 iterations.

    Args:
        cfg: The loaded config (changed in place and returned).
        data_root: Folder with the files of :func:`write_text_cls_data`.
        work_dir: Run directory.
        bert: The backbone is a BertEncoder: also switch it to the ``tiny`` preset.

    Returns:
        The config.
    """
    model = cfg.model.teacher if cfg.model.type == 'beitmm.THEXDistiller' else cfg.model
    model.backbone.vocab_size = 160
    if bert:
        model.backbone.update(arch='tiny', max_position_embeddings=40)
    model.update(tokenizer=tiny_tokenizer('wordpiece'), max_len=16)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=4)
        cfg[key].dataset.data_root = data_root
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg

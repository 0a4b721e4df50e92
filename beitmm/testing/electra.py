"""ELECTRA configs shrunk to tiny shapes for tests: a 2-layer discriminator of the config's family, tiny vocabulary."""
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
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.update(interval=1, by_epoch=False, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg

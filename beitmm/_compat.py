"""Keep mmpretrain 1.2's multimodal models (BLIP, BLIP-2, OFA, ...) unimported, as without pycocotools.

mmpretrain 1.2 imports them whenever pycocotools and transformers >= 4.28 are installed
(``mmpretrain.utils.dependency.WITH_MULTIMODAL``); on transformers 4.57 they fail at import ("NoneType takes no
arguments": ``apply_chunking_to_forward`` and ``GenerationMixin`` left ``transformers.modeling_utils``), which
breaks every ``import mmpretrain.models``. mmdet's COCO API needs pycocotools, so beitmm turns the flag off before
mmpretrain reads it; beitmm uses none of those models, and mmpretrain registers its placeholders for them. The hook
is a finder that only looks at import names: it costs nothing until mmpretrain is imported, and it does nothing
when mmpretrain was imported before beitmm.
"""
import importlib.abc
import sys


class _MultimodalOff(importlib.abc.MetaPathFinder):
    """Sets ``WITH_MULTIMODAL = False`` once ``mmpretrain.utils.dependency`` is loaded, before anything reads it."""

    def find_spec(self, name, path, target=None):  # noqa: D102 (importlib API)
        if name.startswith('mmpretrain.') and name != 'mmpretrain.utils.dependency':
            dep = sys.modules.get('mmpretrain.utils.dependency')
            if dep is not None:
                dep.WITH_MULTIMODAL = False
                sys.meta_path.remove(self)
        return None


def install() -> None:
    """Install the hook (once) unless mmpretrain's models are already imported."""
    if 'mmpretrain.models' not in sys.modules and not any(isinstance(f, _MultimodalOff) for f in sys.meta_path):
        sys.meta_path.insert(0, _MultimodalOff())

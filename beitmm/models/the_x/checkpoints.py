"""Config / checkpoint level conversion (the API behind ``tools/the_x/convert.py``) and its weight report."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from beitmm.checkpoint.io.safe_load import load_checkpoint_file
from beitmm.registry import MODELS

from .surgery import convert_model


def _plain(value):
    """ConfigDicts / tuples -> plain dicts / lists (loadable with ``torch.load(weights_only=True)``)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_weights(model: nn.Module, path: str) -> None:
    """Load a checkpoint's ``state_dict`` (mmengine layout, safe loading) into ``model``, strictly."""
    ckpt = load_checkpoint_file(path, map_location='cpu')
    model.load_state_dict(ckpt.get('state_dict', ckpt), strict=True)


def weight_report(original: nn.Module, converted: nn.Module) -> Dict[str, List[str]]:
    """Which state-dict entries the conversion kept, replaced or added; raises if a kept one changed.

    Args:
        original: The model before conversion.
        converted: After conversion.

    Returns:
        ``{'kept': [...], 'replaced': [...], 'added': [...]}`` (replaced: LayerNorm weights, now affine maps).
    """
    before, after = original.state_dict(), converted.state_dict()
    replaced_prefixes = tuple(f'{n}.' for n, m in original.named_modules() if isinstance(m, nn.LayerNorm))
    report: Dict[str, List[str]] = {'kept': [], 'replaced': [], 'added': sorted(set(after) - set(before))}
    for key, value in before.items():
        if key.startswith(replaced_prefixes):
            report['replaced'].append(key)
            continue
        if key not in after or after[key].shape != value.shape or not torch.equal(after[key].cpu(), value.cpu()):
            raise RuntimeError(f'THE-X conversion changed {key!r}, which it should have kept')
        report['kept'].append(key)
    return report


def model_and_the_x(cfg: Config) -> Tuple[dict, dict]:
    """The original model config and the conversion options of a config.

    Args:
        cfg: A ``THEXDistiller`` config (``model.teacher`` / ``model.the_x``) or any model config with a top-level
            ``the_x`` dict.

    Returns:
        (model config, the_x options).
    """
    model = cfg.model
    if model.get('type') == 'beitmm.THEXDistiller':
        return dict(model.teacher), dict(model.get('the_x') or {})
    if 'the_x' not in cfg:
        raise KeyError('the config has neither a beitmm.THEXDistiller model nor a top-level the_x dict')
    return dict(model), dict(cfg.the_x)


def convert_from_config(config: Union[str, Config], checkpoint: Optional[str] = None,
                        out: Optional[str] = None) -> Tuple[nn.Module, Dict[str, List[str]]]:
    """Build the original model of ``config``, load ``checkpoint``, convert it, optionally save it.

    Args:
        config: Config path or object (see :func:`model_and_the_x`).
        checkpoint: The trained original model's checkpoint.
        out: Where to write the converted state dict (``{'state_dict', 'meta': {'the_x', 'source'}}``).

    Returns:
        The converted model (eval mode) and its :func:`weight_report`.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg, the_x = model_and_the_x(cfg)
    model = MODELS.build(model_cfg)
    if checkpoint:
        load_weights(model, checkpoint)
    model.eval()
    converted = convert_model(model, **the_x).eval()
    report = weight_report(model, converted)
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        tmp = f'{out}.tmp'
        meta = {'the_x': _plain(the_x), 'source': checkpoint}
        torch.save({'state_dict': converted.state_dict(), 'meta': meta}, tmp)
        os.replace(tmp, out)  # atomic: no half-written file
    return converted, report

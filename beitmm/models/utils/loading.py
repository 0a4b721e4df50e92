"""Load checkpoints of any supported layout into a backbone or a whole model, loudly.

Every load logs a table of what was renamed, resized, dropped, missing and unexpected, and
raises when a backbone weight the model uses is missing (no silent partial loads).
"""
from typing import Dict, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log

from .ckpt_convert import convert_backbone_state_dict, convert_model_state_dict, unwrap_checkpoint


class IncompleteCheckpointError(RuntimeError):
    """A checkpoint lacks weights the model needs."""


def _used_keys(module: nn.Module, prefix: str = '') -> set:
    """State-dict keys that matter: trainable parameters and persistent buffers.

    Frozen parameters (e.g. the final norm of a dense-prediction backbone, which no output
    uses) may be absent from a checkpoint without harm.
    """
    frozen = {prefix + n for n, p in module.named_parameters() if not p.requires_grad}
    return {prefix + k for k in module.state_dict()} - frozen


def _read(checkpoint: Union[str, Mapping]) -> Dict[str, torch.Tensor]:
    if isinstance(checkpoint, str):
        from beitmm.engine.checkpoint_io import load_checkpoint_file
        checkpoint = load_checkpoint_file(checkpoint, map_location='cpu')
    return unwrap_checkpoint(checkpoint)


def _check(report, needed: set, source: str, logger_name: Optional[str] = None) -> None:
    print_log(f'Loaded {source}:\n{report.table()}', logger=logger_name or MMLogger.get_current_instance())
    missing = sorted(k for k in report.missing if k in needed)
    if missing:
        shown = ', '.join(missing[:8]) + (f' ... ({len(missing)} in all)' if len(missing) > 8 else '')
        raise IncompleteCheckpointError(
            f'{source} lacks {len(missing)} backbone weight(s) the model needs: {shown}. '
            'Check that the checkpoint matches the architecture (arch, depth, use_abs_pos_emb, '
            'layer scale) or pass a checkpoint of the right model.')


def load_pretrained_backbone(backbone: nn.Module, checkpoint: Union[str, Mapping],
                             prefix: Optional[str] = None) -> object:
    """Load a checkpoint of any supported layout into a BEiT backbone.

    Args:
        backbone: The backbone (has ``state_shapes()``).
        checkpoint: Path or an already loaded checkpoint / state dict.
        prefix: Keep only keys under this prefix (e.g. 'backbone.') and strip it. By default a
            whole-model checkpoint is detected and its 'backbone.' part taken.

    Returns:
        The conversion report.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'state dict'
    state = _read(checkpoint)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(f'no key of {source} starts with prefix {prefix!r}')
        state = sub
    converted, report = convert_backbone_state_dict(state, backbone.state_shapes(),
                                                    dst_grid=getattr(backbone, 'grid', None))
    backbone.load_state_dict(converted, strict=False)
    _check(report, _used_keys(backbone), source)
    return report


def load_model_checkpoint(model: nn.Module, checkpoint: Union[str, Mapping],
                          backbone_prefix: str = 'backbone.') -> Dict[str, torch.Tensor]:
    """Convert a checkpoint of any supported layout to ``model``'s keys and load it.

    Heads whose shapes differ (e.g. another class count) are dropped and reported; a missing
    backbone weight raises :class:`IncompleteCheckpointError`.

    Args:
        model: Whole model (classifier, segmentor or pretraining algorithm).
        checkpoint: Path or loaded checkpoint / state dict.
        backbone_prefix: Where the backbone sits in ``model``.

    Returns:
        The converted state dict that was loaded.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    converted = convert_state_for_model(model, _read(checkpoint), backbone_prefix, source)
    model.load_state_dict(converted, strict=False)
    return converted


def convert_state_for_model(model: nn.Module, state: Mapping[str, torch.Tensor], backbone_prefix: str = 'backbone.',
                            source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """Convert a state dict to ``model``'s layout, log the table, fail on missing backbone keys.

    Args:
        model: Target model.
        state: Source state dict in any supported layout.
        backbone_prefix: Where the backbone sits in ``model``.
        source: Name of the checkpoint for messages.

    Returns:
        State dict in ``model``'s layout (keys the model lacks are dropped).
    """
    target = {k: v.shape for k, v in model.state_dict().items()}
    backbone = getattr(model, backbone_prefix.rstrip('.'), None)
    converted, report = convert_model_state_dict(dict(state), target, backbone_prefix=backbone_prefix,
                                                 dst_grid=getattr(backbone, 'grid', None))
    needed = {k for k in _used_keys(model) if k.startswith(backbone_prefix)}
    _check(report, needed, source)
    return converted

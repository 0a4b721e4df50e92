"""Load checkpoints of any supported layout into a backbone or a whole model, loudly.

Every load logs a table of what was renamed, resized, dropped, re-initialised, missing and
unexpected. It stops (:class:`IncompleteCheckpointError`) when a weight the model uses is missing:
any backbone weight, and any weight of another top-level module (neck, decode head, head) for which
the checkpoint holds at least one weight, so a segmentation checkpoint that lost its classifier
cannot load silently. Modules the checkpoint has nothing for (a new head on a pretrained backbone)
are initialised by the model and named in a note; a head whose shape changed with the task is
reported as re-initialised, with a warning.
"""
import logging
from dataclasses import replace
from typing import Dict, Mapping, Optional, Sequence, Set, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log

from .converters import converter_for, unwrap_checkpoint
from .io.safe_load import load_checkpoint_file
from .io.shapes import clean_fsdp_name
from .report import ConversionReport


class IncompleteCheckpointError(RuntimeError):
    """A checkpoint lacks weights the model needs."""


def used_keys(module: nn.Module, prefix: str = '') -> Set[str]:
    """State-dict keys that matter: trainable parameters and persistent buffers.

    Frozen parameters (e.g. the final norm of a dense-prediction backbone, which no output uses)
    may be absent from a checkpoint without harm.

    Args:
        module: The model or backbone.
        prefix: Prefix added to every name.

    Returns:
        The keys.
    """
    frozen = {prefix + n for n, p in module.named_parameters() if not p.requires_grad}
    return {prefix + k for k in module.state_dict()} - frozen


def read_state_dict(checkpoint: Union[str, Mapping]) -> Dict[str, torch.Tensor]:
    """Flat state dict of a checkpoint path (read safely) or of an already loaded checkpoint.

    Args:
        checkpoint: Path, or a loaded checkpoint / state dict.

    Returns:
        The state dict (wrappers removed).
    """
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint, map_location='cpu')
    return unwrap_checkpoint(checkpoint)


def _top_module(key: str, backbone_prefix: str) -> str:
    return backbone_prefix.rstrip('.') if key.startswith(backbone_prefix) else key.split('.', 1)[0]


def check_complete(report: ConversionReport, provided: Mapping[str, torch.Tensor], needed: Set[str],
                   source: str, backbone_prefix: str = '') -> None:
    """Log the report; raise when a needed weight is missing (see the module docstring).

    Args:
        report: The conversion report (its ``notes`` get the freshly initialised modules).
        provided: The converted state dict about to be loaded.
        needed: Keys the model uses (:func:`used_keys`).
        source: Checkpoint name for messages.
        backbone_prefix: Where the backbone sits ('' when loading a bare backbone).

    Raises:
        IncompleteCheckpointError: Names the missing keys.
    """
    reinit = {k for k, _ in report.reinitialised}
    required_modules = {_top_module(k, backbone_prefix) for k in provided}
    if backbone_prefix:
        required_modules.add(backbone_prefix.rstrip('.'))
    fresh = sorted({_top_module(k, backbone_prefix) for k in needed} - required_modules)
    if backbone_prefix:
        carried = sorted(required_modules - {backbone_prefix.rstrip('.')})
        if carried:
            report.notes.append(f'taken from the checkpoint beside the backbone: {", ".join(carried)}')
        if fresh:
            report.notes.append(f'not in the checkpoint, initialised by the model: {", ".join(fresh)}')
    logger = MMLogger.get_current_instance()
    print_log(f'Loaded {source}:\n{report.table()}', logger=logger)
    if report.reinitialised:
        print_log(f'{source}: {len(report.reinitialised)} weight(s) deliberately left at the model\'s initialisation '
                  f'({", ".join(sorted(reinit)[:4])}{" ..." if len(reinit) > 4 else ""}); the re-initialised rows '
                  'above say why', logger=logger, level=logging.WARNING)
    missing = sorted(k for k in needed if k not in provided and k not in reinit
                     and (not backbone_prefix or _top_module(k, backbone_prefix) in required_modules))
    if missing:
        shown = ', '.join(missing[:8]) + (f' ... ({len(missing)} in all)' if len(missing) > 8 else '')
        raise IncompleteCheckpointError(
            f'{source} lacks {len(missing)} weight(s) the model needs: {shown}. Check that the checkpoint matches '
            'the architecture (arch, depth, use_abs_pos_emb, layer scale, head and neck types) or pass a '
            'checkpoint of the right model.')


def init_from_pretrained_cfg(backbone: nn.Module) -> bool:
    """Load ``backbone.init_cfg = dict(type='Pretrained', checkpoint=..., prefix=...)`` through its converter.

    Backbones call this first in ``init_weights``: mmengine's own Pretrained initialiser would load the file as is.

    Args:
        backbone: A backbone that declares a ``checkpoint_converter``.

    Returns:
        True when the checkpoint was loaded (the backbone is then initialised), False without a Pretrained init_cfg.
    """
    cfg = getattr(backbone, 'init_cfg', None)
    if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
        return False
    load_pretrained_backbone(backbone, cfg['checkpoint'], prefix=cfg.get('prefix'))
    backbone._is_init = True
    return True


def load_pretrained_backbone(backbone: nn.Module, checkpoint: Union[str, Mapping],
                             prefix: Optional[str] = None) -> ConversionReport:
    """Load a checkpoint of any layout the backbone's converter supports into the backbone.

    Args:
        backbone: A module declaring ``checkpoint_converter`` and ``checkpoint_target()``.
        checkpoint: Path or an already loaded checkpoint / state dict.
        prefix: Keep only keys under this prefix (e.g. 'backbone.') and strip it. By default a
            whole-model checkpoint is detected and its 'backbone.' part taken.

    Returns:
        The conversion report.

    Raises:
        TypeError: The backbone declares no converter.
        IncompleteCheckpointError: A backbone weight is missing.
    """
    converter = converter_for(backbone)
    if converter is None:
        raise TypeError(f'{type(backbone).__name__} declares no checkpoint_converter: load its checkpoints with '
                        'mmengine (init_cfg=dict(type="Pretrained") on a module without a converter)')
    source = checkpoint if isinstance(checkpoint, str) else 'state dict'
    state = read_state_dict(checkpoint)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(f'no key of {source} starts with prefix {prefix!r}')
        state = sub
    converted, report = converter.convert_backbone(state, backbone.checkpoint_target())
    backbone.load_state_dict(converted, strict=False)
    check_complete(report, converted, used_keys(backbone), source)
    return report


def convert_state_for_model(model: nn.Module, state: Mapping[str, torch.Tensor], backbone_prefix: str = 'backbone.',
                            source: str = 'checkpoint',
                            shapes: Optional[Mapping[str, Sequence[int]]] = None,
                            fresh: Sequence[str] = ()) -> Dict[str, torch.Tensor]:
    """Convert a state dict to ``model``'s layout, log the table, fail on missing weights.

    Args:
        model: Target model whose backbone (at ``backbone_prefix``) declares a converter.
        state: Source state dict in any layout that converter supports.
        backbone_prefix: Where the backbone sits in ``model``.
        source: Name of the checkpoint for messages.
        shapes: The model's state-dict shapes by key, when ``model.state_dict()`` does not show them (sharded
            FSDP parameters are flat views); default: read from ``model.state_dict()``.
        fresh: Top-level modules (e.g. ``'vqa_classifier'``) left at the model's initialisation even when the
            checkpoint has them, reported as re-initialised: task heads the official fine-tuning builds after
            loading its pretrained file (VLMo's ``load_pretrained_weight``).

    Returns:
        State dict in ``model``'s layout (keys the model lacks are dropped).

    Raises:
        TypeError: The backbone declares no converter.
        IncompleteCheckpointError: A weight the model uses is missing.
    """
    backbone = getattr(model, backbone_prefix.rstrip('.'), None)
    converter = converter_for(backbone)
    if converter is None:
        raise TypeError(f'{type(backbone).__name__} at {backbone_prefix!r} declares no checkpoint_converter')
    target = backbone.checkpoint_target()
    if shapes is None:
        shapes, used = {k: v.shape for k, v in model.state_dict().items()}, used_keys(model)
    else:  # the backbone's own state dict shows flat shards under FSDP: its shapes come from ``shapes`` too
        shapes = {k: torch.Size(v) for k, v in shapes.items()}
        frozen = {clean_fsdp_name(n) for n, p in model.named_parameters() if not p.requires_grad}
        used = set(shapes) - frozen
        target = replace(target, shapes={k[len(backbone_prefix):]: v for k, v in shapes.items()
                                         if k.startswith(backbone_prefix)})
    converted, report = converter.convert_model(dict(state), shapes, backbone_prefix, target)
    for key in [k for k in converted if _top_module(k, backbone_prefix) in fresh]:
        del converted[key]
        report.reinitialised.append((key, 'task head built after the pretrained weights are loaded (official '
                                          'fine-tuning start): model initialisation'))
    check_complete(report, converted, used, source, backbone_prefix)
    return converted


def load_model_checkpoint(model: nn.Module, checkpoint: Union[str, Mapping], backbone_prefix: str = 'backbone.',
                          fresh: Sequence[str] = ()) -> Dict[str, torch.Tensor]:
    """Convert a checkpoint of any supported layout to ``model``'s keys and load it.

    Args:
        model: Whole model (classifier, segmentor or pretraining algorithm).
        checkpoint: Path or loaded checkpoint / state dict.
        backbone_prefix: Where the backbone sits in ``model``.
        fresh: Top-level modules kept at the model's initialisation (see :func:`convert_state_for_model`).

    Returns:
        The converted state dict that was loaded.
    """
    source = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    converted = convert_state_for_model(model, read_state_dict(checkpoint), backbone_prefix, source, fresh=fresh)
    model.load_state_dict(converted, strict=False)
    return converted

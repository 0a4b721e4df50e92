"""Module surgery: turn a trained beitmm model into its THE-X (HE-friendly) form, keeping every other weight.

The conversion swaps modules in place of the SAME layer code (``Attention.softmax``, ``Mlp.act``, the norms), so the
converted model runs in plaintext with the approximations and the encrypted runtime (``beitmm.he``) reads the same
weights. A module the converter does not know (a non-polynomial operation it cannot replace) raises an error naming
the module. Usage::

    the_x = dict(act=dict(type='ReLU'), softmax=dict(type='beitmm.THEXSoftmax'), norm=dict(full=True))
    model = convert_model(model, **the_x)
"""
import copy
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Type

import torch
import torch.nn as nn

from beitmm.registry import MODELS

from ..layers import Attention, build_activation
from .approx import RangeMonitor, THEXAffineNorm, THEXSoftmax

# Leaves that are linear (or identity at inference), or already HE-friendly, kept as they are.
KEPT_LEAVES: Tuple[Type[nn.Module], ...] = (nn.Linear, nn.Conv2d, nn.Dropout, nn.Identity, nn.Embedding, nn.ReLU,
                                            THEXAffineNorm)
# Containers whose own forward only composes known children with additions / reshapes / linear maps.
KNOWN_CONTAINERS = ('Sequential', 'ModuleList', 'ModuleDict', 'Module', 'Block', 'Mlp', 'RelativePositionBias',
                    'BEiT', 'ImageClassifier', 'LinearClsHead', 'ClsHead', 'THEXSoftmax', 'TextClassifier', 'VLMo',
                    'MoMEBlock', 'BertEncoder', 'BertLayer', '_DenseNorm', 'BEiT3', 'MagnetoMultiwayBlock', 'Multiway',
                    'SubLNFeedForward')
# Attentions with the softmax hook (a ``softmax`` child routed through ``layers.hooked_softmax_attend``): beitmm's
# ``Attention``, BERT's self-attention (``BertEncoder``'s ``attention.self``) and BEiT-3's ``MultiwayAttention``.
HOOKED_ATTENTIONS = ('Attention', '_SelfAttention', 'MultiwayAttention')
# Modules without effect on inference (losses of heads, data preprocessors' buffers).
IGNORED = ('CrossEntropyLoss', 'LabelSmoothLoss', 'ClsDataPreprocessor', 'DataPreprocessor', 'BaseDataPreprocessor',
           'WordPieceTokenizer', 'SentencePieceTokenizer')


class UnknownModuleError(TypeError):
    """A module of the model has no HE-friendly replacement."""


def _hooked(module: nn.Module) -> bool:
    return isinstance(module, Attention) or type(module).__name__ in HOOKED_ATTENTIONS


def _approximated(module: nn.Module) -> bool:
    return isinstance(module, RangeMonitor) or isinstance(module, nn.ReLU)


def check_convertible(model: nn.Module, extra_known: Iterable[str] = ()) -> None:
    """Raise :class:`UnknownModuleError` naming the first module the converter does not know.

    Args:
        model: The model (before or after conversion).
        extra_known: More container class names whose forward is known to be linear glue.
    """
    known = set(KNOWN_CONTAINERS) | set(extra_known)
    ignored = _ignored_prefixes(model)
    for name, m in model.named_modules():
        if name in ignored or any(name.startswith(f'{p}.') for p in ignored):
            continue
        if isinstance(m, (nn.GELU, nn.Tanh, nn.LayerNorm, Attention, *KEPT_LEAVES)) or _approximated(m):
            continue
        if _hooked(m):
            continue
        if type(m).__name__ in known:
            continue
        kind = type(m).__name__
        raise UnknownModuleError(f'THE-X conversion: module {name or "<root>"!r} of type {kind} has no HE-friendly '
                                 'replacement (known: Linear, Conv2d patch embedding, GELU, LayerNorm, the '
                                 f'attentions {list(HOOKED_ATTENTIONS)} and the containers {sorted(known)}); '
                                 'extend the converter for it')


def _ignored_prefixes(model: nn.Module) -> Tuple[str, ...]:
    return tuple(n for n, m in model.named_modules() if n and type(m).__name__ in IGNORED)


def convert_model(model: nn.Module, act: Optional[dict] = None, softmax: Optional[dict] = None,
                  norm: Optional[dict] = None, tanh: Optional[dict] = None, inplace: bool = False,
                  norm_std: Optional[Dict[str, float]] = None, extra_known: Iterable[str] = ()) -> nn.Module:
    """Swap GELU, softmax and LayerNorm for their THE-X replacements; every other weight is kept.

    Args:
        model: A beitmm model built from the shared layers (BEiT image classifier, text classifier).
        act: Activation replacing every ``nn.GELU`` (default ``dict(type='ReLU')``; or ``beitmm.THEXPolyGELU``).
        softmax: Softmax replacement set on every hooked attention (``HOOKED_ATTENTIONS``; default
            ``dict(type='beitmm.THEXSoftmax')``).
        norm: ``THEXAffineNorm`` options for every ``nn.LayerNorm`` (default ``dict(full=True)``). Every norm is
            replaced (beitmm's scope; the paper's is open, see configs/the_x/README.md).
        tanh: Replacement of every ``nn.Tanh`` (the BERT pooler of ``TextClassifier``; default ReLU, a choice: THE-X
            names no replacement for it; the distillation adapts the pooler).
        inplace: Modify ``model`` itself (default: a deep copy).
        norm_std: Per-LayerNorm-name typical input std for the affine init (from :func:`calibrate_norm_std`).
        extra_known: Container class names to accept besides ``KNOWN_CONTAINERS``.

    Returns:
        The converted model (``the_x_cfg`` attribute records the options).
    """
    check_convertible(model, extra_known)
    model = model if inplace else copy.deepcopy(model)
    act = act or dict(type='ReLU')
    tanh = tanh or dict(type='ReLU')
    softmax = softmax or dict(type='beitmm.THEXSoftmax')
    norm = {'full': True, **(norm or {})}
    norm_std = norm_std or {}
    built_softmax = MODELS.build(softmax)  # fitted once (seeded), copied into every attention
    for name, m in list(model.named_modules()):
        for child_name, child in list(m.named_children()):
            path = f'{name}.{child_name}' if name else child_name
            if isinstance(child, nn.GELU):
                new = build_activation(act)
            elif isinstance(child, nn.Tanh):  # BERT's pooler (TextClassifier.pooler.activation)
                new = build_activation(tanh)
            elif isinstance(child, nn.LayerNorm):
                new = THEXAffineNorm.from_layer_norm(child, norm['full'], norm_std.get(path, 1.))
            else:
                continue
            if isinstance(new, RangeMonitor):
                new.monitor_name = path
            setattr(m, child_name, new)
        if _hooked(m) and 'softmax' not in m._modules:
            m.softmax = copy.deepcopy(built_softmax).to(next(m.parameters()).device)
            m.softmax.monitor_name = f'{name}.softmax'
    model.the_x_cfg = dict(act=act, softmax=softmax, norm=norm, tanh=tanh)
    return model


def calibrate_norm_std(model: nn.Module, run) -> Dict[str, float]:
    """Typical input std of every LayerNorm (mean over tokens of the per-token std) on calibration data.

    Args:
        model: The original model.
        run: Callable running the model on calibration data (e.g. ``lambda: model(images)``).

    Returns:
        ``{layer norm name: std}``, for :func:`convert_model`'s ``norm_std``.
    """
    stats: Dict[str, list] = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: stats.setdefault(n, []).append(
        float(inp[0].float().std(-1).mean()))) for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)]
    try:
        run()
    finally:
        for h in hooks:
            h.remove()
    return {n: sum(v) / len(v) for n, v in stats.items()}


@torch.no_grad()
def calibrate_student(teacher: nn.Module, student: nn.Module, run: Callable[[nn.Module], object],
                      sequential: bool = False) -> None:
    """Data-dependent initialisation of a converted student from a calibration batch.

    Default: each affine norm restarts from its LayerNorm with the typical input std measured on the teacher
    (``THEXAffineNorm.from_layer_norm``), then each softmax ``scale`` is set, block by block, so that the largest
    score magnitude of the batch is the upper end of its ``input_range``.

    ``sequential``: the norms and softmax scales are set one at a time in the order the student calls them, each
    from the student's own inputs with everything before it already calibrated (a norm from the typical std of what
    reaches it in the student). Deep post-LN encoders need it (the real 6-layer MiniLM: the teacher's stds leave the
    student's layer outputs 30-3000x the teacher's, compounded over 13 norms, and distillation diverges).

    Args:
        teacher: The original model.
        student: Its conversion (modified in place; parameters keep their identity, for the optimizer).
        run: Runs a model on the calibration batch (e.g. ``lambda m: m(inputs, mode='tensor')``).
        sequential: Calibrate in forward order on the student's own inputs (see above).
    """
    if sequential:
        return _calibrate_sequential(teacher, student, run)
    stds = calibrate_norm_std(teacher, lambda: run(teacher))
    lns = dict(teacher.named_modules())
    for name, m in student.named_modules():
        if isinstance(m, THEXAffineNorm) and name in stds:
            m.load_state_dict(THEXAffineNorm.from_layer_norm(lns[name], m.full, stds[name]).state_dict())
    for m in [m for m in student.modules() if isinstance(m, THEXSoftmax)]:
        seen: List[float] = []
        hook = m.register_forward_pre_hook(lambda mod, args, seen=seen: seen.append(float(args[0].abs().max())))
        try:
            run(student)
        finally:
            hook.remove()
        m.scale.fill_(m.input_range[1] / max(max(seen), 1e-6))


def _calibrate_sequential(teacher: nn.Module, student: nn.Module, run: Callable[[nn.Module], object]) -> None:
    """:func:`calibrate_student` with ``sequential=True``: one student pass per norm / softmax, in call order."""
    lns = dict(teacher.named_modules())
    targets = {n: m for n, m in student.named_modules() if isinstance(m, THEXSoftmax)
               or (isinstance(m, THEXAffineNorm) and isinstance(lns.get(n), nn.LayerNorm))}
    order: List[str] = []
    hooks = [m.register_forward_pre_hook(lambda mod, args, n=n: order.append(n) if n not in order else None)
             for n, m in targets.items()]
    try:
        run(student)
    finally:
        for h in hooks:
            h.remove()
    for name in order:
        m = targets[name]
        seen: List[float] = []
        softmax = isinstance(m, THEXSoftmax)  # the largest score magnitude; else the typical per-token input std
        hook = m.register_forward_pre_hook(lambda mod, args, seen=seen, softmax=softmax: seen.append(
            float(args[0].abs().max()) if softmax else float(args[0].float().std(-1).mean())))
        try:
            run(student)
        finally:
            hook.remove()
        if isinstance(m, THEXSoftmax):
            m.scale.fill_(m.input_range[1] / max(max(seen), 1e-6))
        else:
            std = sum(seen) / len(seen)
            m.load_state_dict(THEXAffineNorm.from_layer_norm(lns[name], m.full, std).state_dict())

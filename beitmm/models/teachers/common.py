"""Shared parts of the frozen teachers: architecture lookup, safe weight reading, strict loading."""
import math
from typing import Dict, Iterable, Mapping, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from beitmm.checkpoint.io.torchscript import is_torchscript_archive, read_torchscript_state_dict
from beitmm.pos_embed import resize_abs_pos_embed

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
_WRAPPERS = ('state_dict', 'model', 'module', 'teacher')


def resolve_arch(arch: Union[str, dict], zoo: Mapping[str, dict], owner: str) -> dict:
    """Architecture dict from a zoo name or a dict (``feedforward_channels`` defaults to 4x)."""
    if isinstance(arch, str):
        if arch.lower() not in zoo:
            raise ValueError(f'unknown {owner} arch {arch!r}; choose one of {sorted(zoo)} or pass a dict')
        return dict(zoo[arch.lower()])
    arch = dict(arch)
    arch.setdefault('feedforward_channels', 4 * arch.get('embed_dims', 0))
    missing = [k for k in ARCH_KEYS if k not in arch]
    if missing:
        raise ValueError(f'{owner} arch dict lacks {missing}')
    return arch


def pair(x: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """``x`` as an (h, w) pair."""
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[1]))


def read_teacher_weights(checkpoint: Union[str, Mapping]) -> Dict[str, Tensor]:
    """Flat ``{name: tensor}`` of a teacher file, read safely.

    TorchScript archives (OpenAI CLIP ``.pt``) go through
    :func:`~beitmm.checkpoint.io.torchscript.read_torchscript_state_dict`; every other file
    through ``beitmm.checkpoint.load_checkpoint_file`` (``weights_only=True``).
    Wrappers ``state_dict`` / ``model`` / ``module`` / ``teacher`` (DINO full checkpoints) and a
    leading ``module.`` are removed.

    Args:
        checkpoint: Path, or an already loaded checkpoint / state dict.

    Returns:
        The tensors with the file's own names.
    """
    if isinstance(checkpoint, str):
        if is_torchscript_archive(checkpoint):
            return dict(read_torchscript_state_dict(checkpoint))
        from beitmm.checkpoint import load_checkpoint_file
        checkpoint = load_checkpoint_file(checkpoint, map_location='cpu')
    from beitmm.checkpoint import unwrap_checkpoint
    state = unwrap_checkpoint(checkpoint, _WRAPPERS, skip_non_tensors=True)
    if not state:
        raise TypeError(f'no tensors found in the teacher checkpoint (keys: {list(checkpoint)[:5]})')
    return state


def select_prefix(state: Dict[str, Tensor], prefixes: Iterable[str], anchor: str) -> Dict[str, Tensor]:
    """Strip the first prefix under which ``anchor`` (a key the model must have) is found."""
    for prefix in prefixes:
        if prefix + anchor in state:
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    raise KeyError(f'no teacher weights found: expected a key {anchor!r} under one of the prefixes '
                   f'{list(prefixes)}; first keys of the file: {list(state)[:6]}')


def square_grid(num_tokens: int, what: str) -> Tuple[int, int]:
    """Side x side grid of ``num_tokens`` positions; raises when it is not a square."""
    side = int(round(math.sqrt(num_tokens)))
    if side * side != num_tokens:
        raise ValueError(f'{what} has {num_tokens} patch positions, not a square grid: cannot resize it')
    return side, side


def load_teacher_state(module: nn.Module, state: Dict[str, Tensor], pos_key: str, pos_grid: Tuple[int, int],
                       source: str, ignore: Sequence[str] = ()) -> list:
    """Copy ``state`` into ``module`` strictly, resizing the absolute position embedding.

    Args:
        module: The teacher.
        state: Weights named like ``module.state_dict()``.
        pos_key: Name of the position embedding ([N+1, C] or [1, N+1, C], cls first).
        pos_grid: The module's patch grid; a checkpoint made for another grid is resized bicubically.
        source: File name for messages.
        ignore: Key prefixes of the file that are dropped silently (e.g. a DINO projection head).

    Returns:
        Names of unexpected tensors in the file (logged, not loaded).

    Raises:
        RuntimeError: Keys of the module are missing from the file, or shapes differ.
    """
    own = module.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith(tuple(ignore))}
    pos = state.get(pos_key)
    if pos is not None and pos.shape != own[pos_key].shape:
        src = square_grid(pos.shape[-2] - 1, f'{source}: {pos_key}')
        resized = resize_abs_pos_embed(pos.reshape(1, -1, pos.shape[-1]).float(), src, pos_grid)
        state[pos_key] = resized.reshape(own[pos_key].shape).to(pos.dtype)
        print_log(f'{source}: {pos_key} resized from a {src} to a {pos_grid} grid', logger='current')
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [f'{k}: {tuple(state[k].shape)} in the file vs {tuple(v.shape)}' for k, v in own.items()
             if k in state and state[k].shape != v.shape]
    if missing or wrong:
        raise RuntimeError(f'{source} does not fit {type(module).__name__}: {len(missing)} missing key(s) '
                           f'{missing[:6]}; shape mismatches {wrong[:4]}. Check arch / patch_size.')
    module.load_state_dict({k: state[k].to(v.dtype) for k, v in own.items()}, strict=True)
    if unexpected:
        print_log(f'{source}: {len(unexpected)} tensor(s) not used by {type(module).__name__}: '
                  f'{unexpected[:6]}', logger='current')
    return unexpected


def grid_pos_embed(pos: Tensor, src: Tuple[int, int], dst: Tuple[int, int]) -> Tensor:
    """Position embedding [1, 1+N, C] of grid ``src`` resized to grid ``dst`` (identity if equal)."""
    return pos if src == dst else resize_abs_pos_embed(pos, src, dst, num_extra_tokens=1)


class FrozenTeacher(nn.Module):
    """Base of the teachers: frozen by default (no gradients, always in eval mode).

    Args:
        frozen: Freeze parameters and keep eval mode whatever ``train()`` asks.
    """

    def __init__(self, frozen: bool = True) -> None:
        super().__init__()
        self.frozen = frozen

    def freeze(self) -> None:
        """Turn gradients off and switch to eval mode when ``frozen``."""
        if self.frozen:
            self.requires_grad_(False)
            self.eval()

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Eval mode whatever ``mode`` is when ``frozen``; plain ``nn.Module.train`` otherwise."""
        return super().train(False if self.frozen else mode)

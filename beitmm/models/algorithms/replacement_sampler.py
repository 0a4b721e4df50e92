"""Replacement sampling of ELECTRA-style generators, shared by text ELECTRA and CIM's visual-token generator.

Plain sampling (ELECTRA, Clark et al. 2020): one token per masked position from ``softmax(logits / T)``, without
gradient (the discriminator gives the generator no gradient), by ``torch.multinomial`` or by the Gumbel-max trick
(``argmax(logits / T + g)``, ``g = -log(-log(u))``, the official ELECTRA's way; the same distribution).

Hardness-aware sampling (Hao et al., "Learning to Sample Replacements for ELECTRA Pre-Training", 2021): a hardness
head predicts ``h(w)``, the discriminator's loss if candidate ``w`` were placed at the position, and tokens are drawn
from ``q(w) ∝ p_G(w) · h(w)^β``. The paper's exact formula could not be checked (only its abstract is available and
no code is public); the form implemented is beitmm's derivation (configs/electra/README.md, "The sampling rule"):
the one-sample estimate of ``E_{w~p_G}[loss_D(w)]`` has the least variance under the proposal ``q ∝ p_G · loss_D``,
so ``β = 1`` (``hardness_power``) is the variance-minimising choice, and the importance weight ``p_G(w) / q(w)`` on
the discriminator's loss at that position keeps the estimate of that position's term of ELECTRA's objective unbiased.
Only that term: a replacement also changes the discriminator's input, hence its loss, at every other position of the
sequence, and those terms are not re-weighted, so the whole loss is not an unbiased estimate of plain ELECTRA's
(beitmm's derivation, not the paper's). The weights are self-normalised to mean 1 over the batch's masked positions
(a choice: a lower-variance estimate that keeps the loss scale of plain sampling); ``importance_weight=False`` trains
on the re-weighted distribution without correction.

Temperature 0 takes the generator's argmax in both modes: as ``T -> 0``, ``p_G = softmax(logits / T)`` and with it
``q ∝ p_G · h^β`` (``h > 0``) collapse on ``argmax p_G``, whatever the hardness (beitmm's reading of the limit).

Random numbers come from the given ``torch.Generator`` or, by default, from torch's global stream, which beitmm's
``ResumeStateHook`` stores in every checkpoint and restores on ``--resume`` (exact resume, as captioning / s2s-ft).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from beitmm.registry import MODELS

MODES = ('plain', 'hardness')
METHODS = ('multinomial', 'gumbel')


def sample_tokens(logits: Tensor, temperature: float = 1.0, generator: Optional[torch.Generator] = None,
                  method: str = 'multinomial') -> Tensor:
    """Draw one token per row from ``softmax(logits / temperature)``, without gradient.

    Args:
        logits: (Log-)scores [M, V] at the M masked positions (any additive constant per row is irrelevant).
        temperature: Softmax temperature; 0 takes the argmax.
        generator: Optional torch random generator (default: torch's global stream).
        method: ``'multinomial'`` (``torch.multinomial``) or ``'gumbel'`` (Gumbel-max).

    Returns:
        Token ids [M] (long).
    """
    if temperature < 0:
        raise ValueError(f'sampling temperature must be >= 0, got {temperature}')
    if method not in METHODS:
        raise ValueError(f'sampling method must be one of {METHODS}, got {method!r}')
    logits = logits.detach().float()
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if method == 'gumbel':
        u = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-10, 1 - 1e-7)
        return (logits - torch.log(-torch.log(u))).argmax(-1)
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1)


@MODELS.register_module()
class ReplacementSampler(nn.Module):
    """Plain or hardness-aware sampling of replacements from generator logits (see the module docstring).

    Args:
        mode: ``'plain'`` (ELECTRA) or ``'hardness'`` (``q ∝ p_G · h^β``; needs the hardness head's predictions).
        method: ``'multinomial'`` or ``'gumbel'`` (same distribution, different random draws).
        temperature: Temperature of ``p_G = softmax(logits / T)``; 0: the generator's argmax in both modes (the
            ``T -> 0`` limit of ``q ∝ p_G · h^β``: the hardness is ignored; no importance weights).
        hardness_power: β, the exponent on the predicted hardness (1: the variance-minimising proposal).
        importance_weight: Return the self-normalised weights ``p_G / q`` of the drawn tokens (hardness mode).
        eps: Floor of the predicted hardness inside the logarithm.
    """

    def __init__(self, mode: str = 'plain', method: str = 'multinomial', temperature: float = 1.0,
                 hardness_power: float = 1.0, importance_weight: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'ReplacementSampler mode must be one of {MODES}, got {mode!r}')
        if method not in METHODS:
            raise ValueError(f'ReplacementSampler method must be one of {METHODS}, got {method!r}')
        if temperature < 0:
            raise ValueError(f'sampling temperature must be >= 0, got {temperature}')
        if hardness_power < 0:
            raise ValueError(f'hardness_power must be >= 0, got {hardness_power}')
        self.mode, self.method, self.temperature = mode, method, temperature
        self.hardness_power, self.importance_weight, self.eps = hardness_power, importance_weight, eps

    @property
    def needs_hardness(self) -> bool:
        """Whether :meth:`forward` needs the hardness head's predictions."""
        return self.mode == 'hardness'

    def proposal(self, logits: Tensor, hardness: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Log-probabilities of the generator and of the sampling distribution.

        Args:
            logits: Generator logits [M, V].
            hardness: Predicted discriminator loss per candidate [M, V] (> 0), hardness mode only.

        Returns:
            (log p_G [M, V], log q [M, V]), both normalised, no gradient.
        """
        t = self.temperature or 1.0
        log_p = torch.log_softmax(logits.detach().float() / t, dim=-1)  # [M, V]
        if not self.needs_hardness:
            return log_p, log_p
        if hardness is None or hardness.shape != logits.shape:
            raise ValueError('hardness-aware sampling needs the hardness head\'s predictions [M, V] = '
                             f'{tuple(logits.shape)}, got {None if hardness is None else tuple(hardness.shape)}')
        log_h = torch.log(hardness.detach().float().clamp_min(self.eps))
        return log_p, torch.log_softmax(log_p + self.hardness_power * log_h, dim=-1)

    def forward(self, logits: Tensor, hardness: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Optional[Tensor]]:
        """Draw one replacement per masked position.

        Args:
            logits: Generator logits [M, V].
            hardness: Hardness predictions [M, V] (hardness mode).
            generator: Optional torch random generator (default: torch's global stream).

        Returns:
            (token ids [M], importance weights [M] or None (plain mode, argmax, or ``importance_weight=False``)).
        """
        log_p, log_q = self.proposal(logits, hardness)
        if not self.temperature:  # T -> 0: p_G and q ∝ p_G · h^β both collapse on the generator's argmax
            return log_p.argmax(-1), None
        ids = sample_tokens(log_q, 1.0, generator, self.method)
        if not (self.needs_hardness and self.importance_weight) or not ids.numel():
            return ids, None
        ratio = (log_p.gather(1, ids[:, None]) - log_q.gather(1, ids[:, None]))[:, 0].exp()  # p_G / q, [M]
        return ids, ratio / ratio.mean()

    def extra_repr(self) -> str:
        """The settings, for the module's repr."""
        return (f'mode={self.mode}, method={self.method}, temperature={self.temperature}, '
                f'hardness_power={self.hardness_power}, importance_weight={self.importance_weight}')

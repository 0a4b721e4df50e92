"""THE-X distillation: recover the accuracy of the approximated model from the original one, through the Runner.

The student is the teacher converted (:func:`beitmm.models.the_x.convert_model`), so it starts from every
original weight. Loss: ``logit_weight * T^2 * KL(teacher || student)`` on temperature-``T`` logits plus
``hidden_weight * mean MSE`` between the outputs of the matched hidden modules (every block by default), plus an
optional cross-entropy on the labels. Stages (THE-X distils stage by stage): ``trainable`` restricts the trained
student parameters, e.g. stage 1 trains only the replacements (affine norms, the softmax reciprocal) on hidden-state
matching, stage 2 all the weights; a stage starts from the previous one with ``load_from``.
"""
import re
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS

from ..the_x import calibrate_student, convert_model, load_weights


@MODELS.register_module()
class THEXDistiller(BaseModel):
    """Teacher (frozen original model) -> student (its THE-X conversion), logits KL + hidden-state matching.

    Args:
        teacher: Config of the original classifier (e.g. mmpretrain ``ImageClassifier`` with a beitmm ``BEiT``).
        teacher_checkpoint: Its trained weights (None: the config's own initialisation, for tests).
        the_x: :func:`convert_model` options (``act``, ``softmax``, ``norm``).
        hidden_modules: Regex of the module names whose outputs are matched (default: every BEiT block).
        trainable: Regex of the student parameter names to train (None: all).
        logit_weight: Weight of the logits KL.
        hidden_weight: Weight of the hidden-state MSE.
        ce_weight: Weight of the label cross-entropy (0: pure distillation).
        temperature: KL temperature.
        calibrate: Calibrate the student (:func:`calibrate_student`) on the first training batch, once (the flag
            ``calibrated`` is saved with the checkpoint, so a later stage loading it does not recalibrate);
            ``'sequential'``: in forward order on the student's own inputs (deep post-LN encoders such as MiniLM).
        data_preprocessor: Data preprocessor config (the classifier's; the Runner passes the top-level one).
        init_cfg: mmengine init config.
    """

    def __init__(self, teacher: dict, teacher_checkpoint: Optional[str] = None, the_x: Optional[dict] = None,
                 hidden_modules: str = r'backbone\.blocks\.\d+$', trainable: Optional[str] = None,
                 logit_weight: float = 1., hidden_weight: float = 1., ce_weight: float = 0.,
                 temperature: float = 1., calibrate: Union[bool, str] = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is not None:  # mmpretrain's classifiers default the type the same way
            data_preprocessor = {'type': 'mmpretrain.ClsDataPreprocessor', **data_preprocessor}
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.teacher = MODELS.build(teacher)
        if teacher_checkpoint:
            load_weights(self.teacher, teacher_checkpoint)
        self.teacher.eval().requires_grad_(False)
        self.student = convert_model(self.teacher, **(the_x or {}))
        self.student.requires_grad_(True)
        if trainable:
            pattern = re.compile(trainable)
            for name, p in self.student.named_parameters():
                p.requires_grad_(bool(pattern.search(name)))
            if not any(p.requires_grad for p in self.student.parameters()):
                raise ValueError(f'trainable={trainable!r} matches no student parameter')
        self.hidden = [n for n, _ in self.teacher.named_modules() if re.search(hidden_modules, n)]
        if hidden_weight and not self.hidden:
            raise ValueError(f'hidden_modules={hidden_modules!r} matches no module of the teacher')
        self.logit_weight, self.hidden_weight, self.ce_weight = logit_weight, hidden_weight, ce_weight
        self.temperature = temperature
        self.calibrate = calibrate
        self.register_buffer('calibrated', torch.zeros((), dtype=torch.bool))

    def init_weights(self) -> None:
        """Nothing to initialise: the teacher is loaded, the student copied from it."""

    def train(self, mode: bool = True) -> 'THEXDistiller':
        """Train mode for the student; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def _run(self, model: nn.Module, inputs: Optional[Tensor], data_samples: Optional[list]
             ) -> Tuple[Tensor, List[Tensor]]:
        """Logits [B, K] and the hidden modules' outputs of ``model`` (images: ``inputs``; texts: the samples)."""
        captured: Dict[str, Tensor] = {}
        mods = dict(model.named_modules())
        hooks = [mods[n].register_forward_hook(lambda m, i, o, n=n: captured.__setitem__(n, o)) for n in self.hidden]
        try:
            logits = model(inputs, data_samples, mode='tensor')
        finally:
            for h in hooks:
                h.remove()
        logits = logits[-1] if isinstance(logits, (tuple, list)) else logits
        return logits, [captured[n] for n in self.hidden]

    def loss(self, inputs: Optional[Tensor], data_samples: list) -> Dict[str, Tensor]:
        """Distillation losses of one batch (the first one calibrates the student, see ``calibrate``)."""
        if self.calibrate and not bool(self.calibrated):
            calibrate_student(self.teacher, self.student, lambda m: m(inputs, data_samples, mode='tensor'),
                              sequential=self.calibrate == 'sequential')
            self.calibrated.fill_(True)
        with torch.no_grad():
            t_logits, t_hidden = self._run(self.teacher, inputs, data_samples)
        s_logits, s_hidden = self._run(self.student, inputs, data_samples)
        T = self.temperature
        losses = {'loss_kl': self.logit_weight * T * T * F.kl_div(
            F.log_softmax(s_logits / T, -1), F.log_softmax(t_logits / T, -1), log_target=True, reduction='batchmean')}
        if self.hidden_weight:
            losses['loss_hidden'] = self.hidden_weight * sum(
                F.mse_loss(s, t) for s, t in zip(s_hidden, t_hidden, strict=True)) / len(t_hidden)
        if self.ce_weight:
            labels = torch.cat([torch.as_tensor(ds.gt_label).view(-1) for ds in data_samples]).to(s_logits.device)
            losses['loss_ce'] = self.ce_weight * F.cross_entropy(s_logits, labels)
        return losses

    def forward(self, inputs: Optional[Tensor] = None, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """'loss': distillation losses; 'predict': the student's predictions; 'tensor': the student's logits."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.student(inputs, data_samples, mode='predict')
        return self.student(inputs, data_samples, mode='tensor')


def load_student(distiller_cfg: dict, checkpoint: Optional[str] = None) -> nn.Module:
    """The distilled (THE-X) student of a distiller config, with a distiller checkpoint's weights.

    Args:
        distiller_cfg: The ``model`` config of a ``THEXDistiller``.
        checkpoint: The distillation run's checkpoint (None: the freshly converted student).

    Returns:
        The student in eval mode.
    """
    cfg = dict(distiller_cfg)
    cfg.pop('type', None)
    cfg.pop('data_preprocessor', None)
    model = THEXDistiller(**cfg)
    if checkpoint:
        load_weights(model, checkpoint)
    return model.student.eval()

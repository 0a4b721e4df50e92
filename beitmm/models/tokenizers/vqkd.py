"""VQ-KD: the vector-quantized knowledge-distillation tokenizer of BEiT v2, trainable and usable as a target.

Paper: BEiT v2 (Peng et al., 2022). Reference: microsoft/unilm ``beit2/modeling_vqkd.py``. A ViT encoder
maps an image to patch features, a task layer projects them to 32-d, the quantizer snaps them to the
nearest of 8192 unit-length codes, and a shallow ViT decoder reconstructs a frozen teacher's patch
features (CLIP, DINO or any beitmm backbone) from the codes with a cosine loss. The code ids of the
patches are the BEiT v2 pretraining targets. Official checkpoints (``encoder.*``, ``decoder.*``,
``quantize.*``, ``encode_task_layer.*``, ``decode_task_layer.*``) load directly.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.checkpoint import read_state_dict
from beitmm.registry import MODELS

from ..layers import trunc_normal_init_
from .quantizer import NormEMAQuantizer

# Official keys that are not tokenizer weights (frozen teacher, its input scaling, loss modules).
_FOREIGN_PREFIXES = ('teacher', 'scaling', 'loss')


def _task_layer(dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, out_dim))


def _init_task_layer(layer: nn.Module) -> None:
    """As unilm's ``modeling_vqkd.py``: ``task_layer.apply(_init_weights)``, trunc-normal 0.02 weights, zero biases."""
    for m in layer.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_init_(m.weight, .02, mode='finetune')
            nn.init.zeros_(m.bias)


def _tokens(out) -> Tensor:
    """Last output of a backbone / teacher as patch tokens [B, N, C] (cls removed when present)."""
    x = out[-1] if isinstance(out, (tuple, list)) else out
    if x.dim() == 4:  # [B, C, H, W] feature map
        return x.flatten(2).transpose(1, 2)
    return x


@MODELS.register_module()
class VQKD(BaseModel):
    """VQ-KD tokenizer: trainable model (``mode='loss'``) and target generator (``mode='tensor'``).

    Inputs are images normalised to [-1, 1] (mean 127.5, std 127.5), as the official
    ``process_type='default'``; the teacher gets them re-normalised with ``teacher_norm``.

    Args:
        encoder: Encoder config (``beitmm.BEiT``, absolute positions, no layer scale, ``out_type='raw'``).
        decoder: Decoder config (``beitmm.BEiT`` with ``patch_size=1`` over the code grid);
            ``in_channels`` is set to ``code_dim``.
        teacher: Frozen teacher config (``beitmm.CLIPViT``, ``beitmm.DINOViT`` or any beitmm
            backbone); its patch features [B, N, teacher_dim] are the reconstruction targets.
        num_codes: Codebook size (8192).
        code_dim: Code dimension (32).
        teacher_dim: Teacher feature dimension (CLIP ViT-B/16 after ``proj``: 512, DINO: 768).
        decay: Codebook EMA decay.
        beta: Commitment loss weight.
        kmeans_init: k-means initialisation of the codebook on the first batch.
        dead_code_threshold: Restart codes used less than this fraction of the mean (0: never).
        teacher_norm: ``dict(mean=..., std=...)`` in [0, 1] units applied to the teacher input
            (CLIP: (0.4815, 0.4578, 0.4082) / (0.2686, 0.2613, 0.2758)); None: the [-1, 1] input.
        as_tokenizer: Build only what tokenization needs (encoder, task layer, quantizer).
        checkpoint: VQ-KD checkpoint (beitmm or official layout) loaded at build time.
        data_preprocessor: Preprocessor config (training).
        init_cfg: mmengine init config.
    """

    def __init__(self, encoder: dict, decoder: Optional[dict] = None, teacher: Optional[dict] = None,
                 num_codes: int = 8192, code_dim: int = 32, teacher_dim: int = 512, decay: float = 0.99,
                 beta: float = 1.0, kmeans_init: bool = True, dead_code_threshold: float = 0.03,
                 teacher_norm: Optional[dict] = None, as_tokenizer: bool = False, checkpoint: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.as_tokenizer = as_tokenizer
        self.encoder = MODELS.build(encoder)
        enc_dim = self.encoder.embed_dims
        self.patch_size = self.encoder.patch_size
        self.encode_task_layer = _task_layer(enc_dim, code_dim)
        self.quantize = NormEMAQuantizer(num_codes, code_dim, decay, beta, kmeans_init,
                                         dead_code_threshold=dead_code_threshold)
        self.decoder = self.decode_task_layer = self.teacher = None
        if not as_tokenizer:
            if decoder is None or teacher is None:
                raise ValueError('a trainable VQKD needs a decoder and a teacher config '
                                 '(or build it with as_tokenizer=True to only produce tokens)')
            decoder = copy.deepcopy(decoder)
            if decoder.setdefault('in_channels', code_dim) != code_dim:
                raise ValueError(f'decoder in_channels {decoder["in_channels"]} differs from code_dim {code_dim}')
            self.decoder = MODELS.build(decoder)
            self.decode_task_layer = _task_layer(self.decoder.embed_dims, teacher_dim)
            self.teacher = MODELS.build(teacher)
            self.teacher.requires_grad_(False)
            self.teacher.eval()
        mean, std = (teacher_norm or {}).get('mean'), (teacher_norm or {}).get('std')
        self.register_buffer('teacher_mean', torch.tensor(mean or [0.5] * 3).view(1, 3, 1, 1), False)
        self.register_buffer('teacher_std', torch.tensor(std or [0.5] * 3).view(1, 3, 1, 1), False)
        self._register_state_dict_hook(self._drop_teacher)
        self._register_load_state_dict_pre_hook(self._adapt_incoming)
        if checkpoint is not None:
            self.load_tokenizer(checkpoint)

    # ------------------------------------------------------------ checkpoints
    @staticmethod
    def _drop_teacher(module, state_dict, prefix, local_metadata):
        """The frozen teacher is loaded from its own checkpoint: never saved with the tokenizer."""
        for k in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
            del state_dict[k]
        return state_dict

    def _adapt_incoming(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs) -> None:
        """Official layout -> beitmm: ``fc_norm`` -> ``norm``; drop derived / foreign / unused keys."""
        for key in [k for k in state_dict if k.startswith(prefix)]:
            rel = key[len(prefix):]
            part = rel.split('.')[0]
            if rel.endswith('relative_position_index') or part.startswith(_FOREIGN_PREFIXES) or \
                    part in ('encoder', 'decoder') and rel.split('.')[1] == 'head':
                del state_dict[key]
            elif self.as_tokenizer and part in ('decoder', 'decode_task_layer'):
                del state_dict[key]
            elif part in ('encoder', 'decoder') and rel.split('.')[1] == 'fc_norm':
                state_dict[prefix + rel.replace('.fc_norm.', '.norm.', 1)] = state_dict.pop(key)
        if self.teacher is not None and not any(k.startswith(prefix + 'teacher.') for k in state_dict):
            # tokenizer checkpoints never hold the frozen teacher: keep its own (loaded) weights
            state_dict.update({prefix + 'teacher.' + k: v for k, v in self.teacher.state_dict().items()})

    def load_tokenizer(self, checkpoint: Union[str, dict]) -> None:
        """Load a VQ-KD checkpoint (this class's training checkpoints or the official files).

        Args:
            checkpoint: Path, or a loaded checkpoint / state dict.

        Raises:
            KeyError: The file lacks tokenizer weights, or holds weights this model does not have
                (e.g. another codebook size or architecture).
        """
        source = checkpoint if isinstance(checkpoint, str) else 'state dict'
        state = read_state_dict(checkpoint)
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith('teacher.')]
        if missing or result.unexpected_keys:
            raise KeyError(f'{source} does not match this VQKD: missing {missing[:6]} ({len(missing)}), '
                           f'unexpected {result.unexpected_keys[:6]} ({len(result.unexpected_keys)}); '
                           'check num_codes, code_dim and the encoder / decoder architecture')
        if not bool(self.quantize.embedding.initted):
            raise KeyError(f'{source} holds an uninitialised codebook (quantize.embedding.initted == 0)')
        self._is_init = True  # a later init_weights() must not overwrite the loaded weights

    def init_weights(self) -> None:
        """Encoder / decoder as their configs say; task layers as unilm (trunc-normal 0.02, zero bias).

        A tokenizer loaded from ``checkpoint`` keeps its weights.
        """
        loaded = self._is_init
        super().init_weights()
        if not loaded:
            for layer in (self.encode_task_layer, self.decode_task_layer):
                if layer is not None:
                    _init_task_layer(layer)

    def train(self, mode: bool = True) -> 'VQKD':
        """Train mode; the frozen teacher stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # frozen teacher: no dropout / drop path
        return self

    # ---------------------------------------------------------------- forward
    def encode(self, img: Tensor) -> Dict[str, Tensor]:
        """Encode and quantize.

        Args:
            img: Images [B, 3, H, W] in [-1, 1].

        Returns:
            ``quantized`` [B, D, Hp, Wp] (straight-through), ``ids`` [B, Hp, Wp] (long) and
            ``loss_quant`` (commitment loss).
        """
        feats = _tokens(self.encoder(img))[:, 1:]  # [B, N, C]
        B = img.shape[0]
        hp, wp = -(-img.shape[-2] // self.patch_size), -(-img.shape[-1] // self.patch_size)
        with torch.autocast(device_type=img.device.type, enabled=False):
            z = self.encode_task_layer(feats.float())  # [B, N, D]
        z_q, loss, ids = self.quantize(z)
        quantized = z_q.transpose(1, 2).reshape(B, -1, hp, wp)  # [B, D, Hp, Wp]
        return dict(quantized=quantized, ids=ids.view(B, hp, wp), loss_quant=loss)

    @torch.no_grad()
    def teacher_features(self, img: Tensor, num_patches: int) -> Tensor:
        """Teacher patch features [B, N, teacher_dim] of images in [-1, 1].

        Args:
            img: Images [B, 3, H, W] in [-1, 1].
            num_patches: N; a teacher returning N + 1 tokens (a beitmm backbone) has its cls dropped.
        """
        x = ((img + 1) / 2 - self.teacher_mean) / self.teacher_std
        feats = _tokens(self.teacher(x))
        return feats[:, 1:] if feats.shape[1] == num_patches + 1 else feats

    def decode(self, quantized: Tensor) -> Tensor:
        """Codes [B, D, Hp, Wp] -> reconstructed teacher features [B, N, teacher_dim]."""
        if self.decoder is None:
            raise RuntimeError('this VQKD was built with as_tokenizer=True: it has no decoder')
        return self.decode_task_layer(_tokens(self.decoder(quantized))[:, 1:])

    @staticmethod
    def cosine_loss(rec: Tensor, target: Tensor) -> Tensor:
        """Mean over patches of 1 - cos(rec, target); rec, target [B, N, D]."""
        return (1 - F.cosine_similarity(rec.float(), target.float(), dim=-1)).mean()

    def loss(self, img: Tensor) -> Dict[str, Tensor]:
        """Training losses: ``loss_quant`` (commitment) and ``loss_rec`` (cosine to the teacher)."""
        enc = self.encode(img)
        target = self.teacher_features(img, enc['ids'][0].numel())  # [B, N, Dt]
        rec = self.decode(enc['quantized'])  # [B, N, Dt]
        if rec.shape != target.shape:
            raise ValueError(f'decoder output {tuple(rec.shape)} and teacher features {tuple(target.shape)} differ: '
                             'set teacher_dim to the teacher width and give the teacher the same patch grid')
        return dict(loss_quant=enc['loss_quant'], loss_rec=self.cosine_loss(rec, target))

    @torch.no_grad()
    def tokenize(self, img: Tensor) -> Tensor:
        """Code ids [B, Hp, Wp] (long) of images in [-1, 1]."""
        return self.encode(img)['ids']

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]], data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """The mmengine entry point.

        Args:
            inputs: Images [B, 3, H, W] in [-1, 1] (or a one-view list from the preprocessor).
            data_samples: Unused.
            mode: 'loss' -> training losses; 'tensor' -> token ids [B, Hp, Wp] (the BEiT v2 target).
        """
        img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if mode == 'loss':
            if self.as_tokenizer:
                raise RuntimeError('VQKD(as_tokenizer=True) cannot be trained: it has no decoder / teacher')
            return self.loss(img)
        if mode == 'tensor':
            return self.tokenize(img)
        raise ValueError(f'VQKD has no {mode!r} mode (use "loss" or "tensor")')

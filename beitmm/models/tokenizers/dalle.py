"""OpenAI DALL-E discrete VAE, the BEiT v1 visual tokenizer.

Architecture and parameter names follow openai/DALL-E (``dall_e/encoder.py``,
``dall_e/decoder.py``, ``dall_e/utils.py``; MIT licence) so that the tensors of the
released ``encoder.pkl`` / ``decoder.pkl`` load without renaming: the encoder's
``blocks.input.w`` is this module's ``encoder.blocks.input.w`` and so on.
BEiT: Bao et al., "BEiT: BERT Pre-Training of Image Transformers", ICLR 2022.
"""
from collections import OrderedDict
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from beitmm.checkpoint.io.dalle_pickle import extract_dalle_part, load_dalle_file
from beitmm.registry import MODELS

LOGIT_LAPLACE_EPS = 0.1


def map_pixels(x: torch.Tensor) -> torch.Tensor:
    """Map [0, 1] pixels into the logit-Laplace range: ``0.8 * x + 0.1``."""
    return (1 - 2 * LOGIT_LAPLACE_EPS) * x + LOGIT_LAPLACE_EPS


def unmap_pixels(x: torch.Tensor) -> torch.Tensor:
    """Invert :func:`map_pixels` and clamp the result to [0, 1]."""
    return torch.clamp((x - LOGIT_LAPLACE_EPS) / (1 - 2 * LOGIT_LAPLACE_EPS), 0, 1)


class DALLEConv2d(nn.Module):
    """The dVAE's 'same'-padded convolution with parameters ``w`` and ``b``.

    Args:
        n_in: Input channels.
        n_out: Output channels.
        kw: Odd kernel size.
        use_float16: Compute in float16 on CUDA, as the official module does.
            Defaults to True.
    """

    def __init__(self, n_in: int, n_out: int, kw: int, use_float16: bool = True) -> None:
        super().__init__()
        if kw % 2 != 1:
            raise ValueError(f'kernel size must be odd, got {kw}')
        self.kw = kw
        self.use_float16 = use_float16
        self.w = nn.Parameter(torch.empty(n_out, n_in, kw, kw).normal_(std=(n_in * kw**2)**-0.5))
        self.b = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve with 'same' padding.

        Args:
            x: Feature map [B, n_in, H, W].

        Returns:
            Feature map [B, n_out, H, W]: float16 when ``use_float16`` and ``x`` is on CUDA, else float32.
        """
        if self.use_float16 and x.is_cuda:
            x, w, b = x.half(), self.w.half(), self.b.half()
        else:
            x, w, b = x.float(), self.w, self.b
        return F.conv2d(x, w, b, padding=(self.kw - 1) // 2)


class DALLEResBlock(nn.Module):
    """``EncoderBlock`` / ``DecoderBlock``: ``id_path(x) + post_gain * res_path(x)``.

    Args:
        n_in: Input channels.
        n_out: Output channels (multiple of 4; the hidden width is ``n_out // 4``).
        n_layers: Total number of blocks; ``post_gain = 1 / n_layers ** 2``.
        kernel_sizes: Kernels of ``conv_1..conv_4``: (3, 3, 3, 1) in the
            encoder, (1, 3, 3, 3) in the decoder.
    """

    def __init__(self, n_in: int, n_out: int, n_layers: int, kernel_sizes: Sequence[int]) -> None:
        super().__init__()
        if n_out % 4:
            raise ValueError(f'block output channels must be a multiple of 4, got {n_out}')
        n_hid = n_out // 4
        self.post_gain = 1 / n_layers**2
        self.id_path = DALLEConv2d(n_in, n_out, 1) if n_in != n_out else nn.Identity()
        widths = [n_in, n_hid, n_hid, n_hid, n_out]
        layers = []
        for i, kw in enumerate(kernel_sizes):
            layers += [(f'relu_{i + 1}', nn.ReLU()), (f'conv_{i + 1}', DALLEConv2d(widths[i], widths[i + 1], kw))]
        self.res_path = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block.

        Args:
            x: Feature map [B, n_in, H, W].

        Returns:
            ``id_path(x) + post_gain * res_path(x)``: [B, n_out, H, W].
        """
        return self.id_path(x) + self.post_gain * self.res_path(x)


class DALLEEncoder(nn.Module):
    """dVAE encoder: image [B, C, H, W] -> logits [B, vocab_size, H / 8, W / 8].

    Group ``g`` (1-based) has width ``2 ** (g - 1) * n_hid`` and ends with a 2x max-pool,
    except the last group.

    Args:
        group_count: Number of groups. Defaults to 4.
        n_hid: Width of the first group. Defaults to 256.
        n_blk_per_group: Blocks per group. Defaults to 2.
        input_channels: Image channels. Defaults to 3.
        vocab_size: Codebook size. Defaults to 8192.
    """

    def __init__(self, group_count: int = 4, n_hid: int = 256, n_blk_per_group: int = 2,
                 input_channels: int = 3, vocab_size: int = 8192) -> None:
        super().__init__()
        n_layers = group_count * n_blk_per_group
        layers = [('input', DALLEConv2d(input_channels, n_hid, 7))]
        n_in = n_hid
        for g in range(group_count):
            width = 2**g * n_hid
            group = []
            for i in range(n_blk_per_group):
                group.append((f'block_{i + 1}', DALLEResBlock(n_in, width, n_layers, (3, 3, 3, 1))))
                n_in = width
            if g < group_count - 1:
                group.append(('pool', nn.MaxPool2d(kernel_size=2)))
            layers.append((f'group_{g + 1}', nn.Sequential(OrderedDict(group))))
        output = OrderedDict([('relu', nn.ReLU()), ('conv', DALLEConv2d(n_in, vocab_size, 1, use_float16=False))])
        layers.append(('output', nn.Sequential(output)))
        self.blocks = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode images.

        Args:
            x: Images [B, input_channels, H, W] (as :func:`map_pixels` prepares them).

        Returns:
            Code logits [B, vocab_size, H / 8, W / 8].
        """
        return self.blocks(x.float())  # [B, vocab_size, H / 8, W / 8]


class DALLEDecoder(nn.Module):
    """dVAE decoder: one-hot codes [B, vocab_size, h, w] -> [B, 2 * C, 8h, 8w].

    Group ``g`` (1-based) has width ``2 ** (group_count - g) * n_hid`` and ends with a 2x
    nearest upsampling, except the last group. The output holds the logit-Laplace
    means (first ``output_channels``) and log-scales.

    Args:
        group_count: Number of groups. Defaults to 4.
        n_init: Width of the input projection. Defaults to 128.
        n_hid: Width of the last group. Defaults to 256.
        n_blk_per_group: Blocks per group. Defaults to 2.
        output_channels: Image channels. Defaults to 3.
        vocab_size: Codebook size. Defaults to 8192.
    """

    def __init__(self, group_count: int = 4, n_init: int = 128, n_hid: int = 256, n_blk_per_group: int = 2,
                 output_channels: int = 3, vocab_size: int = 8192) -> None:
        super().__init__()
        n_layers = group_count * n_blk_per_group
        layers = [('input', DALLEConv2d(vocab_size, n_init, 1, use_float16=False))]
        n_in = n_init
        for g in range(group_count):
            width = 2**(group_count - 1 - g) * n_hid
            group = []
            for i in range(n_blk_per_group):
                group.append((f'block_{i + 1}', DALLEResBlock(n_in, width, n_layers, (1, 3, 3, 3))))
                n_in = width
            if g < group_count - 1:
                group.append(('upsample', nn.Upsample(scale_factor=2, mode='nearest')))
            layers.append((f'group_{g + 1}', nn.Sequential(OrderedDict(group))))
        output = OrderedDict([('relu', nn.ReLU()), ('conv', DALLEConv2d(n_hid, 2 * output_channels, 1))])
        layers.append(('output', nn.Sequential(output)))
        self.blocks = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Decode codes.

        Args:
            x: One-hot codes [B, vocab_size, h, w].

        Returns:
            Logit-Laplace means and log-scales [B, 2 * output_channels, 8h, 8w].
        """
        return self.blocks(x.float())  # [B, 2 * output_channels, 8h, 8w]


@MODELS.register_module()
class DALLETokenizer(BaseModule):
    """Frozen DALL-E dVAE turning images into 8192-way token ids (BEiT v1 targets).

    Parameters are never trained: ``requires_grad`` is False and the module stays in
    eval mode whatever ``train()`` is asked.

    Args:
        encoder_checkpoint: OpenAI ``encoder.pkl``, mmpretrain
            ``dalle_encoder.pth`` or a state dict with ``blocks.*`` / ``encoder.blocks.*``
            keys (path or URL). Defaults to None (random weights).
        decoder_checkpoint: OpenAI ``decoder.pkl`` or a state dict, as
            above. Defaults to None.
        with_decoder: Build the decoder (needed by :meth:`decode`). Defaults to True.
        group_count: Groups in encoder and decoder. Defaults to 4.
        n_hid: Encoder / decoder base width. Defaults to 256.
        n_blk_per_group: Blocks per group. Defaults to 2.
        vocab_size: Codebook size. Defaults to 8192.
        n_init: Decoder input projection width. Defaults to 128.
        autocast_dtype: ``'bfloat16'`` or ``'float16'`` to run the
            encoder / decoder under ``torch.autocast``. Defaults to None (float32 on CPU;
            on CUDA the convolutions follow the official float16 path). Note: on CPUs
            without native bf16 kernels, bf16 convolutions are much slower than float32
            (~60x on the development machine) and change ~3% of the token ids.
        init_cfg: mmengine initialisation config. Defaults to None.
    """

    def __init__(self, encoder_checkpoint: Optional[str] = None, decoder_checkpoint: Optional[str] = None,
                 with_decoder: bool = True, group_count: int = 4, n_hid: int = 256, n_blk_per_group: int = 2,
                 vocab_size: int = 8192, n_init: int = 128, autocast_dtype: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if autocast_dtype not in (None, 'bfloat16', 'float16'):
            raise ValueError(f"autocast_dtype must be None, 'bfloat16' or 'float16', got {autocast_dtype!r}")
        if decoder_checkpoint is not None and not with_decoder:
            raise ValueError('decoder_checkpoint was given but with_decoder=False')
        self.vocab_size = vocab_size
        self.downsample = 2**(group_count - 1)
        self.autocast_dtype = autocast_dtype
        self.encoder = DALLEEncoder(group_count, n_hid, n_blk_per_group, 3, vocab_size)
        self.decoder = (DALLEDecoder(group_count, n_init, n_hid, n_blk_per_group, 3, vocab_size)
                        if with_decoder else None)
        if encoder_checkpoint is not None:
            self._load_part('encoder', encoder_checkpoint)
        if decoder_checkpoint is not None:
            self._load_part('decoder', decoder_checkpoint)
        self.requires_grad_(False)
        self.eval()

    def _load_part(self, part: str, path: str) -> None:
        """Copy the tensors of ``path`` into ``self.encoder`` / ``self.decoder`` (strict)."""
        state = extract_dalle_part(load_dalle_file(path), part, source=path)
        first = state.get('blocks.input.w')
        if first is not None and first.dim() == 4:  # encoder: [n_hid, 3, 7, 7]; decoder: [n_init, vocab, 1, 1]
            kind = 'encoder' if first.shape[-1] == 7 else 'decoder'
            if kind != part:
                raise ValueError(f'{path} holds DALL-E {kind} weights but was given as the {part} checkpoint')
        module = getattr(self, part)
        own = module.state_dict()
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        wrong = [f'{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
                 if k in state and state[k].shape != v.shape]
        if missing or unexpected or wrong:
            raise RuntimeError(f'{path} does not match the DALL-E {part}: missing {missing[:5]}, '
                               f'unexpected {unexpected[:5]}, shape mismatch (file vs model) {wrong[:5]}')
        module.load_state_dict(state, strict=True)

    def train(self, mode: bool = True) -> 'DALLETokenizer':
        """Keep the frozen tokenizer in eval mode; ``mode`` is ignored."""
        return super().train(False)

    def _autocast(self, device: torch.device) -> torch.autocast:
        dtype = getattr(torch, self.autocast_dtype) if self.autocast_dtype else None
        return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)

    @staticmethod
    def map_pixels(x: torch.Tensor) -> torch.Tensor:
        """See :func:`map_pixels`."""
        return map_pixels(x)

    @staticmethod
    def unmap_pixels(x: torch.Tensor) -> torch.Tensor:
        """See :func:`unmap_pixels`."""
        return unmap_pixels(x)

    @torch.no_grad()
    def get_codebook_indices(self, img: torch.Tensor) -> torch.Tensor:
        """Tokenize images.

        Args:
            img: [B, 3, H, W] in [0, 1] (not yet mapped), H and W
                multiples of 8.

        Returns:
            torch.Tensor: Token ids [B, H / 8, W / 8], dtype long.
        """
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError(f'expected images of shape [B, 3, H, W], got {tuple(img.shape)}')
        if img.shape[2] % self.downsample or img.shape[3] % self.downsample:
            raise ValueError(f'image size {tuple(img.shape[2:])} is not a multiple of {self.downsample}')
        x = map_pixels(img.float())
        if not img.is_cuda:  # oneDNN runs these no-grad convolutions ~20% faster on channels-last data
            x = x.contiguous(memory_format=torch.channels_last)
            if not self.encoder.blocks.input.w.is_contiguous(memory_format=torch.channels_last):
                self.encoder.to(memory_format=torch.channels_last)
        # No autocast by default: an outer bf16 autocast is switched off here, since bf16
        # convolutions are far slower than fp32 on CPUs without native bf16 (~60x measured).
        with self._autocast(img.device):
            logits = self.encoder(x)  # [B, vocab, h, w]
        return logits.argmax(dim=1)  # [B, h, w]

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """Alias of :meth:`get_codebook_indices`."""
        return self.get_codebook_indices(img)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Reconstruct images from token ids.

        Args:
            indices: [B, h, w] integer ids in [0, vocab_size).

        Returns:
            torch.Tensor: Images [B, 3, 8h, 8w] in [0, 1].
        """
        if self.decoder is None:
            raise RuntimeError('DALLETokenizer was built with with_decoder=False; decode() needs the decoder')
        if indices.dim() != 3 or indices.is_floating_point():
            raise ValueError(f'expected integer ids of shape [B, h, w], got {indices.dtype} {tuple(indices.shape)}')
        if indices.min() < 0 or indices.max() >= self.vocab_size:
            raise ValueError(f'token ids must lie in [0, {self.vocab_size})')
        one_hot = F.one_hot(indices.long(), self.vocab_size).permute(0, 3, 1, 2).float()  # [B, vocab, h, w]
        with self._autocast(indices.device):
            stats = self.decoder(one_hot).float()  # [B, 6, 8h, 8w]
        return unmap_pixels(torch.sigmoid(stats[:, :3]))

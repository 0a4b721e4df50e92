"""BERT-family checkpoints into ``beitmm.BertEncoder`` (converter ``'bert'``), s2s-ft's ``convert_state_dict``.

Layouts recognised (any ``state_dict`` / ``model`` / ``module`` wrapper):

- ``bert``: HF BERT under ``bert.`` (``BertFor*``); ``cls.*`` heads kept under their names for a whole model that
  has them, else dropped and reported; ``pooler`` dropped. UniLM v1 and MiniLM files are this layout;
- ``plain``: no family prefix (HF bare ``BertModel`` / ``RobertaModel`` / ``ElectraModel`` files, beitmm's own):
  copied; the offset rows of the position table are the model's ``source_position_offset`` (default its own);
- ``roberta``: HF RoBERTa / XLM-R under ``roberta.``; ``lm_head.{dense,layer_norm}`` ->
  ``cls.predictions.transform.{dense,LayerNorm}``, ``lm_head.{decoder,bias}`` -> ``cls.predictions.*`` (s2s-ft's
  rule); the position table has 2 offset rows (padding_idx + 1);
- ``electra``: HF ELECTRA under ``electra.`` (``embeddings_project`` when embedding_size != hidden);
  discriminator (``discriminator_predictions.*`` kept / dropped as a head) or generator
  (``generator_predictions.{dense,LayerNorm}`` -> ``cls.predictions.transform.*``, ``generator_lm_head`` ->
  ``cls.predictions.decoder``);
- ``unilm``: unilm's fast-QKV files (``bert.`` or no prefix): ``attention.self.qkv_linear.weight`` [3C, C] is split
  in rows into query / key / value weights; ``q_bias`` / ``v_bias`` become the query / value biases and the key
  bias is zero (BEiT's convention). UniLM v2's relative position bias (raw files ``encoder.rel_pos_bias.weight``,
  s2s-ft fine-tuned ones ``rel_pos_bias.weight``, [heads, rel_pos_bins]) becomes ``rel_pos_bias.weight``, as s2s-ft's
  ``unilm_to_hf_bert`` moves it; the model needs the same ``rel_pos_bins`` (checked, named in the error).

Position table: the checkpoint's real rows (after its offset rows) fill the model's; a longer model table is
filled by tiling them (rows ``[n, 2n)`` repeat ``[0, n)``, s2s-ft's ``reuse_position_embedding``), or, with
``reuse_position_embedding=False``, copied once with N(0, 0.02) further rows; a shorter one takes the first rows.
Token types: a model without a table (RoBERTa-style) gets the checkpoint's type-0 row folded into every position
row (exact for an all-zero segment input, HF's default); a model with more types than the checkpoint copies row 0.
"""
import re
from typing import Mapping, Optional, Tuple

import torch
from torch import Tensor

from beitmm.registry import CHECKPOINT_CONVERTERS

from ..converters import CheckpointConverter, ConversionTarget, StateDict
from ..report import ConversionReport, split_model_state

WORDS = 'embeddings.word_embeddings.weight'
POSITIONS = 'embeddings.position_embeddings.weight'
TYPES = 'embeddings.token_type_embeddings.weight'
PROJECT = 'embeddings_project.weight'
_PREFIXES = (('bert.', 'bert', 0), ('roberta.', 'roberta', 2), ('electra.', 'electra', 0), ('', 'plain', None))
_BACKBONE = re.compile(r'^(embeddings\.|encoder\.layer\.\d+\.|embeddings_project\.|(encoder\.)?rel_pos_bias\.)')
REL_POS = 'rel_pos_bias.weight'
_BUFFERS = re.compile(r'(^|\.)(position_ids|token_type_ids)$')
_QKV = re.compile(r'^(encoder\.layer\.\d+\.attention\.self\.)(qkv_linear\.weight|q_bias|v_bias)$')
_HEAD_RULES = [  # source head key -> HF BERT head key (s2s-ft: lm_head -> cls.predictions)
    (re.compile(r'^lm_head\.(dense|layer_norm)\.'), lambda m: 'cls.predictions.transform.'
     + ('LayerNorm' if m[1] == 'layer_norm' else 'dense') + '.'),
    (re.compile(r'^lm_head\.'), lambda m: 'cls.predictions.'),
    (re.compile(r'^generator_predictions\.'), lambda m: 'cls.predictions.transform.'),
    (re.compile(r'^generator_lm_head\.'), lambda m: 'cls.predictions.decoder.'),
]
_OTHER_FAMILIES = [
    (re.compile(r'^(beit3\.|text_embed\.|vision_embed\.)|encoder\.layers\.\d+\.self_attn\.'),
     'a BEiT-3 checkpoint: load it into beitmm.BEiT3'),
    (re.compile(r'^transformer\.blocks\.\d+\.|\.mlp_imag\.|\.mlp_text\.'), 'a VLMo checkpoint: load it into '
     'beitmm.VLMo'),
    (re.compile(r'(^|\.)(blocks|layers)\.\d+\.attn\.|(^|\.)patch_embed\.|^cls_token$'),
     'a BEiT / ViT checkpoint: load it into beitmm.BEiT'),
    (re.compile(r'^(transformer\.)?h\.\d+\.attn\.c_attn\.|^(encoder|decoder)\.block\.\d+\.'),
     'a GPT-2 / T5 checkpoint (not a bidirectional BERT-family encoder)'),
]


def detect_bert_layout(state: Mapping[str, Tensor]) -> Tuple[str, str, Optional[int]]:
    """Prefix, layout name and offset rows of the position table (None: unknown) of a BERT-family state dict.

    Args:
        state: Flat state dict.

    Returns:
        ``(prefix, layout, offset)``; layout is ``'unilm'`` when fused qkv keys are present.

    Raises:
        ValueError: Another family (named) or no BERT word embeddings.
    """
    for pattern, family in _OTHER_FAMILIES:
        if any(pattern.search(k) for k in state):
            raise ValueError(f'not a BERT-family checkpoint: it looks like {family}')
    for prefix, layout, offset in _PREFIXES:
        if prefix + WORDS in state:
            if any(_QKV.match(k[len(prefix):]) for k in state if k.startswith(prefix)):
                layout = 'unilm'
            return prefix, layout, offset
    raise ValueError(f'not a BERT-family checkpoint: no {{bert.,roberta.,electra.,}}{WORDS} key; first keys '
                     f'{list(state)[:5]}')


def head_keys(state: Mapping[str, Tensor], prefix: str, report: ConversionReport) -> StateDict:
    """The non-backbone weights of a BERT-family file under HF BERT's head names (``cls.predictions.*``).

    Args:
        state: Flat source state dict.
        prefix: The family prefix of its backbone keys.
        report: Gets the dropped pooler and buffers.

    Returns:
        ``{HF BERT head key: tensor}``.
    """
    out: StateDict = {}
    for key, value in state.items():
        if prefix and key.startswith(prefix):
            continue
        if not prefix and (_BACKBONE.match(key) or key.startswith('pooler.') or _BUFFERS.search(key)):
            continue
        rule = next(((p, f) for p, f in _HEAD_RULES if p.match(key)), None)
        out[rule[0].sub(rule[1], key, count=1) if rule else key] = value
        report.renamed += rule is not None
    return out


def fit_positions(table: Tensor, src_offset: int, rows: int, dst_offset: int, reuse: bool) -> Tensor:
    """Position table [Ns, E] with ``src_offset`` leading rows -> [rows, E] with ``dst_offset`` leading rows.

    Args:
        table: The checkpoint's table.
        src_offset: Its rows before position 0 (RoBERTa 2).
        rows: The model's rows.
        dst_offset: The model's rows before position 0.
        reuse: Tile the real rows into a longer table (s2s-ft); False: copy once, further rows N(0, 0.02).

    Returns:
        The model's table (position p of the model is the checkpoint's position p, or p mod n when tiled).
    """
    real, need = table[src_offset:], rows - dst_offset
    if need <= real.shape[0]:
        body = real[:need]
    elif reuse:
        body = real.repeat((need + real.shape[0] - 1) // real.shape[0], 1)[:need]
    else:
        body = torch.cat([real, torch.randn(need - real.shape[0], table.shape[1]).mul_(.02).to(table.dtype)])
    lead = table[:dst_offset] if src_offset >= dst_offset else table.new_zeros(dst_offset, table.shape[1])
    return torch.cat([lead, body])


def _split_qkv(out: StateDict, report: ConversionReport) -> None:
    fused = [k for k in out if _QKV.match(k)]
    if fused:
        report.notes.append('unilm fused qkv split into query / key / value; key bias zero')
    for key in fused:
        base, name = _QKV.match(key).groups()
        value = out.pop(key)
        if name == 'qkv_linear.weight':
            if value.shape[0] % 3:
                raise ValueError(f'{key}: {tuple(value.shape)} has no 3 equal row blocks (q, k, v)')
            for part, chunk in zip(('query', 'key', 'value'), value.chunk(3, dim=0), strict=True):
                out[f'{base}{part}.weight'] = chunk
        elif name == 'q_bias':
            out[f'{base}query.bias'] = value.reshape(-1)
        else:
            out[f'{base}value.bias'] = value.reshape(-1)
            out[f'{base}key.bias'] = torch.zeros_like(value.reshape(-1))  # no key bias (BEiT's convention)
        report.renamed += 1


def _fit_embeddings(out: StateDict, target: ConversionTarget, src_offset: int, report: ConversionReport) -> None:
    shapes, extra = target.shapes, target.extra
    if POSITIONS in out and POSITIONS in shapes:
        old = out[POSITIONS]
        new = fit_positions(old, src_offset, shapes[POSITIONS][0], extra['position_offset'],
                            extra['reuse_position_embedding'])
        if new.shape != old.shape or src_offset != extra['position_offset']:
            report.resized.append((POSITIONS, tuple(old.shape), tuple(new.shape)))
            n_old, n_new = old.shape[0] - src_offset, new.shape[0] - extra['position_offset']
            how = 'tiled' if extra['reuse_position_embedding'] else 'copied once, further rows N(0, 0.02)'
            report.notes.append(f'position table: {n_old} real rows (offset {src_offset}) -> {n_new} (offset '
                                f'{extra["position_offset"]}), {how if n_new > n_old else "cut"}')
        out[POSITIONS] = new
    if TYPES in out and TYPES not in shapes:
        types = out.pop(TYPES)
        if POSITIONS in out:
            out[POSITIONS] = out[POSITIONS] + types[0]
        report.dropped.append((TYPES, 'the model has no token types: row 0 folded into every position row'))
    elif TYPES in shapes and TYPES not in out:
        out[TYPES] = torch.zeros(shapes[TYPES])
        report.notes.append(f'{TYPES}: the checkpoint has none, zeros (every segment as the checkpoint saw it)')
    elif TYPES in out and out[TYPES].shape[0] != shapes[TYPES][0]:
        old, rows = out[TYPES], shapes[TYPES][0]
        out[TYPES] = old[:rows] if old.shape[0] >= rows else torch.cat([old, old[:1].expand(rows - old.shape[0], -1)])
        report.resized.append((TYPES, tuple(old.shape), tuple(out[TYPES].shape)))
        report.notes.append(f'{TYPES}: {old.shape[0]} checkpoint rows -> {rows} (further rows copy row 0)')


def _check_rel_pos(out: StateDict, target: ConversionTarget) -> None:
    """Name the setting when the checkpoint's UniLM v2 relative bias and the model's ``rel_pos_bins`` differ."""
    bins = target.extra.get('rel_pos_bins', 0)
    if REL_POS in out and tuple(out[REL_POS].shape) != tuple(target.shapes.get(REL_POS, ())):
        heads, ckpt_bins = out[REL_POS].shape
        raise ValueError(f'{REL_POS}: the checkpoint has a UniLM v2 relative position bias [{heads} heads, '
                         f'{ckpt_bins} buckets] but the model has rel_pos_bins={bins}: build the BertEncoder with '
                         f'rel_pos_bins={ckpt_bins} and the checkpoint\'s max_rel_pos (its config.json)')


def convert_bert_backbone(state_dict: Mapping[str, Tensor], target: ConversionTarget,
                          strict: bool = False) -> Tuple[StateDict, ConversionReport]:
    """Convert any layout of the module docstring to ``beitmm.BertEncoder``'s keys.

    Args:
        state_dict: Flat source state dict (wrappers removed).
        target: The encoder's target (``extra``: ``position_offset``, ``source_position_offset``,
            ``reuse_position_embedding``).
        strict: Raise when keys are missing or unexpected.

    Returns:
        The backbone state dict and the report.
    """
    prefix, layout, src_offset = detect_bert_layout(state_dict)
    if src_offset is None:
        src_offset = target.extra.get('source_position_offset')
        src_offset = target.extra['position_offset'] if src_offset is None else src_offset
    report = ConversionReport(layout + (' (generator)' if any(k.startswith('generator_') for k in state_dict)
                                        else ''))
    out: StateDict = {}
    for key, value in state_dict.items():
        if prefix and not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if name == 'encoder.' + REL_POS:  # raw unilm2 files (s2s-ft convert_state_dict.py moves it the same way)
            name = REL_POS
            report.renamed += 1
        if _BUFFERS.search(name):
            report.dropped.append((key, 'derived buffer, rebuilt by the model'))
        elif name.startswith('pooler.'):
            report.dropped.append((key, 'pooler: s2s-ft does not use it'))
        elif _BACKBONE.match(name):
            out[name] = value
            report.renamed += bool(prefix)
    for key in head_keys(state_dict, prefix, ConversionReport()):
        report.dropped.append((key, 'head (the backbone has none; a whole model with this key keeps it)'))
    _split_qkv(out, report)
    if PROJECT in out and PROJECT not in target.shapes:
        raise ValueError(f'the checkpoint has embeddings_project {tuple(out[PROJECT].shape)} (ELECTRA): build the '
                         f'model with embedding_size={out[PROJECT].shape[1]}')
    _fit_embeddings(out, target, src_offset, report)
    _check_rel_pos(out, target)
    for key, value in out.items():
        if key in target.shapes and value.shape != target.shapes[key]:
            raise ValueError(f'{key}: checkpoint {tuple(value.shape)} vs model {tuple(target.shapes[key])}: build the '
                             "model with the checkpoint's arch / vocab_size / embedding_size")
    return report.settle(out, target.shapes, strict, 'the BERT encoder'), report


@CHECKPOINT_CONVERTERS.register_module(name='bert')
class BertConverter(CheckpointConverter):
    """HF BERT / RoBERTa / XLM-R / ELECTRA, unilm UniLM / MiniLM and beitmm checkpoints to ``beitmm.BertEncoder``."""

    name = 'bert'

    def convert_backbone(self, state_dict: Mapping[str, Tensor], target: ConversionTarget,
                         strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_backbone`."""
        return convert_bert_backbone(state_dict, target, strict)

    def convert_model(self, state_dict: Mapping[str, Tensor], shapes: Mapping[str, torch.Size],
                      backbone_prefix: str, target: ConversionTarget,
                      strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_model`; HF heads arrive under HF BERT's names (``cls.*``)."""
        own, backbone, rest = split_model_state(state_dict, backbone_prefix)
        bb_out, report = convert_bert_backbone(backbone, target, strict)
        if not own:
            report.dropped = [(k, why) for k, why in report.dropped if not why.startswith('head')]
            rest = head_keys(state_dict, detect_bert_layout(state_dict)[0], report)
        out = report.whole_model(bb_out, rest, shapes, backbone_prefix, own)
        return out, report

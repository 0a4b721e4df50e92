"""Zero-shot image classification with a contrastive dual encoder (BEiT-3 / VLMo retrieval models).

BEiT-3 (paper §3.2) and CLIP-style evaluations treat classification as image-to-text retrieval over class
descriptions: each class is the mean of the L2-normalised embeddings of its prompts (templates filled with its name),
re-normalised (open_clip's ``build_zero_shot_classifier``, prompt ensembling of CLIP); an image's logits are its
normalised embedding against those class vectors. The data files shipped under ``beitmm/resources/zero_shot/``:
``imagenet`` (the 1000 ImageNet class names of OpenAI's CLIP notebook, as open_clip's ``zero_shot_metadata.py`` lists
them, in the standard class-index order = sorted WordNet ids) and ``openai_imagenet`` (OpenAI's 80 ImageNet prompt
templates, ``{}`` where the name goes).
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import Tensor

from beitmm.registry import MODELS

from ..multimodal import DualEncoderRetriever

RESOURCES = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'resources', 'zero_shot')
SHIPPED = {'imagenet': 'imagenet_classes.txt', 'openai_imagenet': 'openai_imagenet_templates.txt'}
NamesType = Union[str, Sequence[str]]


def read_names(spec: NamesType, what: str = 'class_names') -> List[str]:
    """A list of names from a shipped list's key, a text file (one per line) or a sequence.

    Args:
        spec: ``'imagenet'`` / ``'openai_imagenet'`` (shipped), a file path, or the names themselves.
        what: The setting's name, for the error messages.

    Returns:
        The non-empty lines (stripped), in order.
    """
    if isinstance(spec, str):
        path = osp.join(RESOURCES, SHIPPED[spec]) if spec in SHIPPED else osp.expanduser(spec)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what}={spec!r} is neither a file nor a shipped list ({sorted(SHIPPED)})')
        with open(path, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
        source = path
    else:
        names, source = [str(n) for n in spec], 'the given list'
    if not names:
        raise ValueError(f'{what}: {source} holds no names')
    return names


def read_templates(spec: NamesType) -> List[str]:
    """Prompt templates (``'a photo of a {}.'``), each with exactly one ``{}`` for the class name.

    Args:
        spec: ``'openai_imagenet'`` (OpenAI's 80), a file path (one per line) or the templates themselves.

    Returns:
        The templates.
    """
    templates = read_names(spec, 'templates')
    bad = [t for t in templates if t.count('{}') != 1]
    if bad:
        raise ValueError(f'templates ({spec if isinstance(spec, str) else "list"}): each needs exactly one "{{}}" '
                         f'where the class name goes; {len(bad)} do not, e.g. {bad[0]!r}')
    return templates


@torch.no_grad()
def build_zero_shot_classifier(model, class_names: NamesType, templates: NamesType,
                               batch_size: int = 256) -> Tensor:
    """Class weights of a zero-shot classifier: per class, the re-normalised mean of its normalised prompt embeddings.

    As open_clip's ``build_zero_shot_classifier``; the prompts are embedded by the model's own text path
    (``model.text_features(*model.tokenize(texts))``: the ITC projection of a ``beitmm.DualEncoderRetriever``).

    Args:
        model: A retrieval model (``tokenize`` and ``text_features``), e.g. from :func:`beitmm.apis.init_model`.
        class_names: The names, a file of them or ``'imagenet'``.
        templates: The templates, a file of them or ``'openai_imagenet'``.
        batch_size: Prompts embedded per forward (open_clip batches by classes instead; the result is the same).

    Returns:
        Class weights [C, num_classes] (unit columns), on the model's device.
    """
    if not (hasattr(model, 'tokenize') and hasattr(model, 'text_features')):
        raise TypeError(f'build_zero_shot_classifier needs a retrieval model with tokenize() and text_features() '
                        f'(beitmm.DualEncoderRetriever), got {type(model).__name__}')
    names, temps = read_names(class_names), read_templates(templates)
    texts = [t.format(name) for name in names for t in temps]  # class-major: [K * T]
    was_training = getattr(model, 'training', False)
    if was_training:
        model.eval()  # no dropout / drop path in the prompt embeddings
    try:
        emb = torch.cat([F.normalize(model.text_features(*model.tokenize(texts[i:i + batch_size])).float(), dim=-1)
                         for i in range(0, len(texts), batch_size)])  # [K * T, C]
    finally:
        if was_training:
            model.train()
    weights = F.normalize(emb.view(len(names), len(temps), -1).mean(dim=1), dim=-1)  # [K, C]
    return weights.t().contiguous()  # [C, K]


@MODELS.register_module()
class ZeroShotClassifier(DualEncoderRetriever):
    """A retrieval model that classifies images against text prompts of class names (no classifier training).

    It is a ``beitmm.DualEncoderRetriever`` (same modules, same keys), so released and beitmm-trained retrieval
    checkpoints load into it as they are (``tools/test.py CONFIG CKPT``). The class weights are built from
    ``class_names`` x ``templates`` by :func:`build_zero_shot_classifier` the first time they are needed after the
    weights were set (loading a state dict or ``init_weights`` marks them stale) and kept in the non-persistent
    buffer ``class_weights``. ``predict`` sets ``pred_score`` (softmax of the logits) and ``pred_label`` as
    mmpretrain's classifiers do, so mmpretrain's ``Accuracy`` scores it.

    Args:
        backbone: ``beitmm.BEiT3`` or ``beitmm.VLMo`` config (as the retrieval configs).
        tokenizer: Text tokenizer config.
        class_names: Class names in label order: ``'imagenet'`` (shipped), a file (one per line) or a list.
        templates: Prompt templates with one ``{}``: ``'openai_imagenet'`` (shipped, 80), a file or a list.
        text_batch_size: Prompts per text forward when building the class weights.
        **kwargs: ``DualEncoderRetriever`` arguments (``max_text_len``, ``logit_scale_init``, ...).
    """

    def __init__(self, backbone: dict, tokenizer: dict, class_names: NamesType = 'imagenet',
                 templates: NamesType = 'openai_imagenet', text_batch_size: int = 256, **kwargs) -> None:
        super().__init__(backbone, tokenizer, **kwargs)
        self.class_names, self.templates = read_names(class_names), read_templates(templates)
        self.text_batch_size = text_batch_size
        self.register_buffer('class_weights', torch.zeros(self.embed_dims, len(self.class_names)), persistent=False)
        self._weights_ready = False

    @property
    def num_classes(self) -> int:
        """Number of classes (class names)."""
        return len(self.class_names)

    def init_weights(self) -> None:
        """Initialise as the retrieval model; the class weights are rebuilt on next use."""
        super().init_weights()
        self._weights_ready = False

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: D105 (torch API: loading marks weights stale)
        self._weights_ready = False
        super()._load_from_state_dict(*args, **kwargs)

    def zero_shot_weights(self) -> Tensor:
        """The class weights [C, num_classes], built from the current text encoder if stale."""
        if not self._weights_ready:
            w = build_zero_shot_classifier(self, self.class_names, self.templates, self.text_batch_size)
            self.class_weights = w.to(self.class_weights)
            self._weights_ready = True
        return self.class_weights

    def logits(self, images: Tensor) -> Tensor:
        """Zero-shot logits [B, num_classes]: ``logit_scale.exp()`` x cosine of image and class embeddings."""
        return self.logit_scale.exp() * (self.image_features(images) @ self.zero_shot_weights())

    def forward(self, images: Optional[Tensor] = None, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """``tensor``: logits; ``predict``: data samples with scores and labels. No ``loss``: nothing to train."""
        if mode == 'tensor':
            return self.logits(images)
        if mode == 'predict':
            return self.predict(images, data_samples)
        if mode == 'loss':
            raise ValueError('ZeroShotClassifier only evaluates: train its weights as beitmm.DualEncoderRetriever '
                             '(a retrieval config; the checkpoint then loads here as it is)')
        return self._forward_unsupported(mode)

    @torch.no_grad()
    def predict(self, images: Tensor, data_samples: Optional[List] = None) -> List[DataSample]:
        """Set ``pred_score`` (softmax over the classes) and ``pred_label`` of each image."""
        scores = self.logits(images).float().softmax(dim=-1)  # [B, K]
        data_samples = data_samples if data_samples is not None else [DataSample() for _ in range(len(scores))]
        for sample, row in zip(data_samples, scores, strict=True):
            if 'gt_label' in sample and int(sample.gt_label.max()) >= self.num_classes:
                raise ValueError(f'label {int(sample.gt_label.max())} of {sample.get("img_path", "an image")} but '
                                 f'only {self.num_classes} class names: the class-name list does not fit the dataset')
            sample.set_pred_score(row).set_pred_label(row.argmax(keepdim=True))
        return data_samples

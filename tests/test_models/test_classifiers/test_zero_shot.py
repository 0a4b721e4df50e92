"""Zero-shot classification: the class-weight builder on a hand-computed case, the shipped lists, the registered model.

References: a stub text encoder whose prompt embeddings are known 2-D vectors (weights worked out by hand below);
mmpretrain's ImageNet category list (its order is the class-index order); mmpretrain's ``Accuracy`` on the logits.
"""
import re

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.evaluation import Accuracy
from mmpretrain.structures import DataSample

import beitmm
from beitmm.models.classifiers import read_names, read_templates
from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

# prompt -> embedding of the stub encoder (not normalised: the builder normalises each prompt embedding first)
STUB = {'x a': (3., 4.), 'y a': (0., 2.), 'x b': (1., 0.), 'y b': (0., -5.)}
# class a: mean((0.6, 0.8), (0, 1)) = (0.3, 0.9), / sqrt(0.9); class b: mean((1, 0), (0, -1)) = (0.5, -0.5), / sqrt(0.5)
EXPECTED = torch.tensor([[0.3 / 0.9 ** 0.5, 0.5 / 0.5 ** 0.5], [0.9 / 0.9 ** 0.5, -0.5 / 0.5 ** 0.5]])  # [C=2, K=2]


class StubEncoder:
    """Tokenizes a prompt to its index in STUB and embeds it with STUB's vector."""

    def __init__(self):
        self.calls = []

    def tokenize(self, texts):
        self.calls.append(list(texts))
        return torch.tensor([list(STUB).index(t) for t in texts]), None

    def text_features(self, ids, padding):
        return torch.tensor(list(STUB.values()))[ids]


def test_class_weights_are_the_renormalised_mean_of_normalised_prompt_embeddings():
    stub = StubEncoder()
    w = beitmm.build_zero_shot_classifier(stub, ['a', 'b'], ['x {}', 'y {}'])
    torch.testing.assert_close(w, EXPECTED)
    assert stub.calls == [['x a', 'y a', 'x b', 'y b']]
    stub = StubEncoder()
    torch.testing.assert_close(beitmm.build_zero_shot_classifier(stub, ['a', 'b'], ['x {}', 'y {}'], batch_size=3),
                               EXPECTED)
    assert [len(c) for c in stub.calls] == [3, 1]
    with pytest.raises(ValueError, match='exactly one "{}"'):
        beitmm.build_zero_shot_classifier(stub, ['a'], ['no slot'])
    with pytest.raises(TypeError, match='needs a retrieval model'):
        beitmm.build_zero_shot_classifier(torch.nn.Linear(2, 2), ['a'], ['x {}'])


def test_shipped_imagenet_names_are_in_class_index_order_and_templates_are_openais():
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES  # 'tench, Tinca tinca', ... in wnid order
    names, templates = read_names('imagenet'), read_templates('openai_imagenet')
    assert len(names) == 1000 and len(templates) == 80 and len(set(templates)) == 80
    assert names[:2] == ['tench', 'goldfish'] and names[-1] == 'toilet paper'

    def words(s):
        return set(re.findall(r'[a-z]+', s.lower()))

    shared = sum(bool(words(a) & words(b)) for a, b in zip(names, IMAGENET_CATEGORIES, strict=True))
    assert shared >= 950  # the clean names are the WordNet synonyms' (the rest are renamed, e.g. 'tiger cat')
    assert templates[0] == 'a bad photo of a {}.' and 'a photo of the {}.' in templates
    with pytest.raises(FileNotFoundError, match='neither a file nor a shipped list'):
        read_names('no_such_list')


def _model(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='beitmm.ZeroShotClassifier', backbone=tiny_backbone(normalize_output=True),
               tokenizer=tiny_tokenizer(), max_text_len=16, class_names=['red', 'blue', 'green'],
               templates=['a {} circle.', 'a {} square.'])
    model = MODELS.build(dict(cfg, **kwargs))
    model.init_weights()
    return model.eval()


def test_registered_model_predicts_cosine_logits_and_mmpretrain_accuracy_reads_them():
    model = _model()
    assert type(model) is MODELS.get('beitmm.ZeroShotClassifier') and model.num_classes == 3
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        img = model.image_features(images)  # [4, C]
        prompts = [f'a {c} {s}.' for c in ('red', 'blue', 'green') for s in ('circle', 'square')]
        txt = model.text_features(*model.tokenize(prompts)).view(3, 2, -1)
        classes = F.normalize(txt.mean(1), dim=-1)  # [3, C]
        expected = model.logit_scale.exp() * img @ classes.t()  # [4, 3]
        logits = model(images, mode='tensor')
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    labels = [0, 1, 2, 0]
    samples = model(images, [DataSample().set_gt_label(y) for y in labels], mode='predict')
    torch.testing.assert_close(torch.stack([s.pred_score for s in samples]), expected.softmax(-1))
    assert [int(s.pred_label) for s in samples] == expected.argmax(-1).tolist()
    metric = Accuracy(topk=(1, 2))
    metric.process(None, [s.to_dict() for s in samples])
    result = metric.evaluate(4)
    top2 = expected.topk(2, dim=-1).indices
    assert result['accuracy/top1'] == pytest.approx(100 * (expected.argmax(-1) == torch.tensor(labels)).float().mean())
    assert result['accuracy/top2'] == pytest.approx(
        100 * sum(y in top2[i].tolist() for i, y in enumerate(labels)) / 4)
    with pytest.raises(ValueError, match='only 3 class names'):
        model(images[:1], [DataSample().set_gt_label(3)], mode='predict')
    with pytest.raises(ValueError, match='only evaluates'):
        model(images, [], mode='loss')


def test_class_weights_follow_loaded_weights_and_stay_out_of_checkpoints():
    model, other = _model(), _model()
    torch.manual_seed(1)
    other.init_weights()  # different weights
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = model(images).clone()
        assert 'class_weights' not in model.state_dict()  # the checkpoint stays a retrieval checkpoint
        retriever = MODELS.build(dict(type='beitmm.DualEncoderRetriever', backbone=tiny_backbone(normalize_output=True),
                                      tokenizer=tiny_tokenizer(), max_text_len=16))
        retriever.load_state_dict(other.state_dict(), strict=True)  # same keys both ways
        model.load_state_dict(retriever.state_dict(), strict=True)
        after = model(images)
        torch.testing.assert_close(after, other(images))  # weights rebuilt from the loaded text encoder
    assert not torch.allclose(before, after)

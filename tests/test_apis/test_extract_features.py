"""extract_features / FeatureExtractor: each model kind against the model's own forward on hand-preprocessed images.

References: retrieval embeddings against ``image_features`` / ``text_features`` on images preprocessed by hand
(BGR -> RGB, (x - 127.5) / 127.5); VQA pair and classifier embeddings against the input of the answer / classification
head captured by a hook while the model predicts through ``answer_question`` / ``inference_model``.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from beitmm.apis import (
    FeatureExtractor,
    answer_question,
    extract_features,
    inference_model,
    init_model,
    rank_texts,
)
from beitmm.testing.shrink import config_path, tiny_cls_config
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer, tiny_tokenizer_files

TEXTS = ['a red circle.', 'two blue squares.', 'a green triangle on the left.']


def _images(n: int = 3) -> list:
    rng = np.random.default_rng(0)
    return [(rng.random((64, 64, 3)) * 255).astype(np.uint8) for _ in range(n)]  # BGR arrays


def _by_hand(imgs: list) -> torch.Tensor:
    x = np.stack([i[..., ::-1].astype(np.float32) for i in imgs])  # BGR -> RGB
    return torch.from_numpy((x - 127.5) / 127.5).permute(0, 3, 1, 2)  # [B, 3, 64, 64]


def _demo(name: str, **opts):
    torch.manual_seed(0)
    base = {'model.tokenizer.model_file': tiny_tokenizer_files()['spm'], 'model.backbone.vocab_size': 160}
    return init_model(config_path(f'demo/beit3-tiny_demo_{name}.py'), cfg_options=dict(base, **opts))


@pytest.fixture(scope='module')
def retriever():
    return _demo('retrieval')


def _captured_input(module: torch.nn.Module, run) -> torch.Tensor:
    seen = []
    handle = module.register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    try:
        run()
    finally:
        handle.remove()
    return torch.cat(seen)


def test_retrieval_embeddings_are_the_models_itc_embeddings(retriever):
    imgs = _images()
    f = extract_features(retriever, images=imgs, texts=TEXTS, batch_size=2)  # batches of 2 and 1
    assert f['image'].shape == (3, 96) and f['text'].shape == (3, 96)
    torch.testing.assert_close(f['image'].norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(f['text'].norm(dim=-1), torch.ones(3))
    with torch.no_grad():
        img_ref = retriever.image_features(_by_hand(imgs))
        txt_ref = retriever.text_features(*retriever.tokenize(TEXTS))
    torch.testing.assert_close(f['image'], img_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(f['text'], txt_ref, atol=1e-6, rtol=1e-5)
    # rank_texts ranks by exactly these embeddings (tolerance 0)
    ranked = rank_texts(retriever, imgs[0], TEXTS)
    one = extract_features(retriever, images=imgs[:1], texts=TEXTS)
    sims = (one['image'] @ one['text'].t())[0]
    assert [s for _, s in sorted(ranked)] == sims.tolist()


def test_numpy_option_and_single_inputs(retriever):
    imgs = _images(1)
    t = extract_features(retriever, images=imgs[0], texts=TEXTS[0])
    n = extract_features(retriever, images=imgs[0], texts=TEXTS[0], return_numpy=True)
    assert set(n) == {'image', 'text'} and all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in n.values())
    np.testing.assert_array_equal(n['image'], t['image'].numpy())
    assert set(extract_features(retriever, texts=TEXTS)) == {'text'}


def test_vlmo_retrieval_embeddings():
    cfg = Config.fromfile(config_path('demo/beit3-tiny_demo_retrieval.py'))
    cfg.model.backbone = tiny_backbone('vlmo', img_size=64)
    cfg.model.tokenizer = tiny_tokenizer('wordpiece')
    torch.manual_seed(0)
    model = init_model(cfg)
    imgs = _images(2)
    f = extract_features(model, images=imgs, texts=TEXTS)
    assert model.head_names[:2] == ('itc_image_proj', 'itc_text_proj')
    with torch.no_grad():
        torch.testing.assert_close(f['image'], model.image_features(_by_hand(imgs)), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(f['text'], model.text_features(*model.tokenize(TEXTS)), atol=1e-6, rtol=1e-5)


def test_vqa_pair_embedding_is_what_the_answer_head_reads():
    model = _demo('vqa', **{'model.num_labels': 5})
    model.answers = list('abcde')
    imgs, question = _images(2), 'what color is the circle?'
    f = extract_features(model, images=imgs, texts=[question] * 2, pairs=True)
    head = getattr(model, model.head_name)
    pooled = _captured_input(head, lambda: [answer_question(model, img, question) for img in imgs])  # [2, C]
    torch.testing.assert_close(f['pair'], F.normalize(pooled, dim=-1), atol=1e-6, rtol=1e-5)
    solo = extract_features(model, images=imgs, texts=[question])
    assert set(solo) == {'image', 'text'} and solo['image'].shape == (2, 96) and solo['text'].shape == (1, 96)
    torch.testing.assert_close(solo['image'].norm(dim=-1), torch.ones(2))
    assert not torch.allclose(solo['image'], f['pair'], atol=1e-3)  # an image-only pass is not the fused one
    one = extract_features(model, images=imgs[1:], texts=[question])
    torch.testing.assert_close(one['image'][0], solo['image'][1], atol=1e-5, rtol=1e-5)  # batch-independent
    with pytest.raises(ValueError, match='2 images but 1 texts'):
        extract_features(model, images=imgs, texts=[question], pairs=True)


def test_classifier_embedding_is_what_the_head_reads(imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    torch.manual_seed(0)
    model = init_model(cfg)
    imgs = [(np.random.default_rng(i).random((40, 50, 3)) * 255).astype(np.uint8) for i in range(2)]
    f = extract_features(model, images=imgs)
    feats = _captured_input(model.head.fc, lambda: inference_model(model, imgs))
    torch.testing.assert_close(f['image'], F.normalize(feats, dim=-1), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match='embeds images, not texts'):
        extract_features(model, texts=TEXTS)


def test_clear_errors(retriever):
    with pytest.raises(TypeError, match='does not support Linear'):
        extract_features(torch.nn.Linear(2, 2), texts=TEXTS)
    with pytest.raises(ValueError, match='pairs=True needs a fusion model'):
        extract_features(retriever, images=_images(1), texts=TEXTS[:1], pairs=True)
    with pytest.raises(ValueError, match='give images and/or texts'):
        extract_features(retriever)
    with pytest.raises(TypeError, match='not a tensor'):
        extract_features(retriever, images=torch.zeros(1, 3, 64, 64))


def test_feature_extractor_returns_one_embedding_per_input_in_order(retriever):
    opts = {'model.tokenizer.model_file': tiny_tokenizer_files()['spm'], 'model.backbone.vocab_size': 160}
    torch.manual_seed(0)
    fe = FeatureExtractor(config_path('demo/beit3-tiny_demo_retrieval.py'), cfg_options=opts)
    fe.model.load_state_dict(retriever.state_dict())
    imgs = _images(2)
    out = fe([imgs[0], {'text': TEXTS[1]}, {'image': imgs[1]}], batch_size=2)
    ref = extract_features(retriever, images=imgs, texts=TEXTS[1:2])
    assert [tuple(o.shape) for o in out] == [(96, )] * 3
    torch.testing.assert_close(torch.stack([out[0], out[2]]), ref['image'])
    torch.testing.assert_close(out[1], ref['text'][0])
    single = fe(imgs[0], return_numpy=True)
    assert len(single) == 1 and isinstance(single[0], np.ndarray)
    with pytest.raises(ValueError, match="'image' and / or 'text'"):
        fe([{'question': 'x'}])

"""tools/web_demo.py served on 127.0.0.1: each tab's HTTP API on a real photo against the beitmm.apis call it wraps.

The five tiny demo models (configs/demo/, untrained weights saved as checkpoints with their class / answer lists)
are served by one ``tools/web_demo.py --model ...`` process; ``gradio_client`` posts a real photo (scikit-image's
``chelsea.png`` when scikit-image is installed, else matplotlib's ``grace_hopper.jpg``). The reference for each
answer is the API called directly on the photo decoded by Pillow and resized to the model's 64 px by Pillow bicubic
(the demo configs' test pipelines do not resize). A headless Chromium renders the page (skipped, with the reason,
when no Chromium is installed).
"""
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from beitmm.apis import answer_question, caption_image, inference_model, init_model, rank_images, rank_texts
from beitmm.testing.shrink import ROOT, config_path
from beitmm.testing.vl import tiny_tokenizer_files

CONFIGS = dict(classification='beit-tiny_demo_cls', segmentation='linear_beit-tiny_demo_seg',
               vqa='beit3-tiny_demo_vqa', caption='beit3-tiny_demo_caption', retrieval='beit3-tiny_demo_retrieval')
ANSWERS = ['yes', 'no', '0', '1', '2', '3', 'red', 'green', 'blue', 'circle', 'square', 'triangle', 'star']  # 13
META = dict(classification=dict(classes=['circle', 'square', 'triangle', 'star']),
            segmentation=dict(classes=['sky', 'tree', 'road', 'car'],
                              palette=[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]),
            vqa=dict(answers=ANSWERS), caption={}, retrieval={})
TABS = ['Classification', 'Segmentation', 'Visual question answering', 'Captioning', 'Image-text retrieval',
        'Zero-shot classification']


def real_photo() -> str:
    try:
        import skimage
        return osp.join(osp.dirname(skimage.__file__), 'data', 'chelsea.png')
    except ImportError:
        import matplotlib
        return osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'sample_data', 'grace_hopper.jpg')


def _rgb(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def _small_bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(Image.fromarray(rgb).resize((64, 64), Image.BICUBIC))[..., ::-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp('web_demo')
    spm, models, args = tiny_tokenizer_files()['spm'], {}, []
    for task, name in CONFIGS.items():
        cfg = root / f'{name}.py'
        text = f'_base_ = [{config_path(f"demo/{name}.py")!r}]\n'
        if name.startswith('beit3'):  # the tiny test vocabulary instead of the demo's data/demo/vl/demo.spm
            text += f'model = dict(tokenizer=dict(model_file={spm!r}), backbone=dict(vocab_size=160))\n'
        cfg.write_text(text)
        torch.manual_seed(0)
        model = init_model(str(cfg))
        torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=META[task])), root / f'{name}.pth')
        args += ['--model', str(cfg), str(root / f'{name}.pth')]
    port, log = _free_port(), open(root / 'server.log', 'w')
    proc = subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'web_demo.py'), *args, '--port', str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, BEITMM_NO_VENV='1'))
    try:
        for task, name in CONFIGS.items():  # the references, loaded as a user would, while the server starts
            models[task] = init_model(str(root / f'{name}.py'), str(root / f'{name}.pth'))
        url, deadline = f'http://127.0.0.1:{port}/', time.time() + 180
        while True:
            try:
                _get(url)
                break
            except OSError as e:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError('web demo did not start:\n' + (root / 'server.log').read_text()[-3000:]) from e
                time.sleep(0.5)
        from gradio_client import Client
        yield dict(url=url, client=Client(url, verbose=False), models=models, root=root, photo=real_photo())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_classification_and_segmentation_match_inference_model(served):
    client, models, photo = served['client'], served['models'], served['photo']
    rgb = _rgb(photo)
    assert rgb.shape[0] > 64 and rgb.shape[1] > 64  # a real photo, resized by the app
    from gradio_client import handle_file
    out = client.predict(CONFIGS['classification'], handle_file(photo), 3, api_name='/classify')
    scores = inference_model(models['classification'], _small_bgr(rgb)).pred_score
    top = scores.topk(3)
    classes = META['classification']['classes']
    assert [c['label'] for c in out['confidences']] == [classes[i] for i in top.indices.tolist()]
    np.testing.assert_allclose([c['confidence'] for c in out['confidences']], top.values.tolist(), atol=1e-5)

    overlay_path, shares = client.predict(CONFIGS['segmentation'], handle_file(photo), 0.4, api_name='/segment')
    labels = inference_model(models['segmentation'], _small_bgr(rgb)).pred_sem_seg.data[0].numpy()  # [64, 64]
    counts = np.bincount(labels.ravel(), minlength=4) / labels.size
    seg_classes = META['segmentation']['classes']
    assert {c['label']: c['confidence'] for c in shares['confidences']} == pytest.approx(
        {seg_classes[i]: counts[i] for i in range(4) if counts[i]})
    full = np.asarray(Image.fromarray(labels.astype(np.int32)).resize(rgb.shape[1::-1], Image.NEAREST))
    expected = np.round(0.6 * rgb + 0.4 * np.asarray(META['segmentation']['palette'])[full])
    overlay = np.asarray(Image.open(overlay_path).convert('RGB')).astype(np.float64)
    assert overlay.shape == rgb.shape and np.abs(overlay - expected).max() <= 1  # lossless PNG; rounding


def test_vl_tabs_match_the_vl_inference_apis(served):
    client, models, photo = served['client'], served['models'], served['photo']
    from gradio_client import handle_file
    small = _small_bgr(_rgb(photo))
    out = client.predict(CONFIGS['vqa'], handle_file(photo), 'what color is the circle?', 3, api_name='/answer')
    ref = answer_question(models['vqa'], small, 'what color is the circle?', topk=3)
    assert [(c['label'], pytest.approx(c['confidence'], abs=1e-5)) for c in out['confidences']] == ref

    caption = client.predict(CONFIGS['caption'], handle_file(photo), api_name='/caption')
    assert caption == caption_image(models['caption'], small) and isinstance(caption, str)

    texts = ['a woman in a uniform.', 'a cat on a sofa.', 'two red circles.']
    table = client.predict(CONFIGS['retrieval'], handle_file(photo), '\n'.join(texts) + '\n\n', api_name='/rank_texts')
    ranked = rank_texts(models['retrieval'], small, texts)
    assert [row[1] for row in table['data']] == [texts[i] for i, _ in ranked]
    np.testing.assert_allclose([row[2] for row in table['data']], [s for _, s in ranked], atol=1e-5)

    flipped = served['root'] / 'flipped.png'  # a second real image: the photo mirrored and cropped
    rgb = _rgb(photo)
    Image.fromarray(np.ascontiguousarray(rgb[: rgb.shape[0] // 2, ::-1])).save(flipped)
    gallery, scores = client.predict(CONFIGS['retrieval'], texts[1], [handle_file(photo), handle_file(str(flipped))],
                                     api_name='/rank_images')
    ref = rank_images(models['retrieval'], texts[1], [small, _small_bgr(_rgb(str(flipped)))])
    assert len(gallery) == 2 and [r[1] for r in scores['data']] == [[osp.basename(photo), 'flipped.png'][i]
                                                                     for i, _ in ref]
    np.testing.assert_allclose([r[2] for r in scores['data']], [s for _, s in ref], atol=1e-5)


def test_zero_shot_is_softmax_over_prompt_similarities(served):
    client, model, photo = served['client'], served['models']['retrieval'], served['photo']
    from gradio_client import handle_file
    out = client.predict(CONFIGS['retrieval'], handle_file(photo), 'woman, cat,  dog,', 'a photo of a {}.',
                         api_name='/zero_shot')
    sims = dict(rank_texts(model, _small_bgr(_rgb(photo)), [f'a photo of a {c}.' for c in ('woman', 'cat', 'dog')]))
    probs = torch.tensor([sims[i] for i in range(3)]).mul(model.logit_scale.exp()).softmax(0).tolist()
    got = {c['label']: c['confidence'] for c in out['confidences']}
    assert got == pytest.approx(dict(woman=probs[0], cat=probs[1], dog=probs[2]), abs=1e-5)
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match='template needs exactly one'):
        client.predict(CONFIGS['retrieval'], handle_file(photo), 'cat, dog', 'a photo', api_name='/zero_shot')


def test_page_lists_the_tabs_and_renders_in_headless_chromium(served, tmp_path):
    config = json.loads(_get(served['url'] + 'config'))
    assert [c['props'].get('label') for c in config['components'] if c['type'] == 'tabitem'] == TABS
    html = _get(served['url'])
    assert all(t in html for t in TABS)  # the served page carries its layout
    browser = next((shutil.which(b) for b in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(b)),
                   None)
    if browser is None:
        pytest.skip('no headless Chromium (apt-get install chromium): the page screenshot is not checked')
    flags = [browser, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,1000',
             '--virtual-time-budget=20000']
    png = tmp_path / 'page.png'
    subprocess.run([*flags, f'--screenshot={png}', served['url']], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*flags, '--dump-dom', served['url']], check=True, capture_output=True, timeout=120,
                         text=True).stdout
    for title in TABS:  # rendered by the page's JavaScript as tab buttons
        assert f'>{title}' in dom or f'> {title}' in dom, title
    img = np.asarray(Image.open(png).convert('RGB'))
    assert img.shape == (1000, 1280, 3) and png.stat().st_size > 10_000 and img.std() > 10


def test_command_line_and_bad_input(tmp_path):
    from tools.web_demo.__main__ import parse_args
    from tools.web_demo.tasks import load_models, zero_shot_prompts
    args, specs = parse_args(['a.py', 'a.pth', '--model', 'b.py', 'b.pth', '--port', '7999'])
    assert specs == [('a.py', 'a.pth'), ('b.py', 'b.pth')] and args.port == 7999
    assert parse_args(['a.py', 'a.pth'])[0].port == 7860
    for argv in (['a.py'], []):
        with pytest.raises(SystemExit):
            parse_args(argv)
    assert zero_shot_prompts('cat, dog\ncat,', 'a {} here.') == (['cat', 'dog'], ['a cat here.', 'a dog here.'])
    with pytest.raises(ValueError, match='class names'):
        zero_shot_prompts(' , ', 'a {}.')
    cfg = tmp_path / 'vqa.py'
    cfg.write_text(f'_base_ = [{config_path("demo/beit3-tiny_demo_vqa.py")!r}]\nmodel = dict(tokenizer=dict('
                   f'model_file={tiny_tokenizer_files()["spm"]!r}), backbone=dict(vocab_size=160))\n')
    torch.save(dict(state_dict=init_model(str(cfg)).state_dict()), tmp_path / 'vqa.pth')  # no answer list
    with pytest.raises(ValueError, match=r'vqa.pth: the model does not know its answer vocabulary'):
        load_models([(str(cfg), str(tmp_path / 'vqa.pth'))])
    with pytest.raises(FileNotFoundError, match='checkpoint .*missing.pth'):
        load_models([(str(cfg), str(tmp_path / 'missing.pth'))])

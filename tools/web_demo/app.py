"""The gradio page: one tab per task of the given models (zero-shot classification with retrieval models).

Each tab's button is also an HTTP endpoint (``api_name``), callable with ``gradio_client``:
``classify``, ``segment``, ``answer``, ``caption``, ``rank_texts``, ``rank_images``, ``zero_shot``.
"""
import functools
import os.path as osp
from typing import Callable, Dict, List, Sequence

import gradio as gr
import numpy as np
from PIL import Image

from . import tasks
from .tasks import DemoModel

TAB_TITLES = dict(classification='Classification', segmentation='Segmentation', vqa='Visual question answering',
                  caption='Captioning', retrieval='Image-text retrieval', zero_shot='Zero-shot classification')
# system fonts: the default theme would fetch Google fonts, and the demo makes no outside requests
THEME = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                          font_mono=['ui-monospace', 'Consolas', 'monospace'])


def _shown_errors(fn: Callable) -> Callable:
    """Show bad input (ValueError) as a message on the page instead of a bare 'Error'."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            raise gr.Error(str(e)) from e
    return wrapper


class _Picker:
    """A model menu for one task (hidden when the task has one model) and the lookup by name."""

    def __init__(self, models: Sequence[DemoModel]) -> None:
        self.models = {m.name: m for m in models}
        self.menu = gr.Dropdown(list(self.models), value=models[0].name, label='Model', visible=len(models) > 1)

    def __call__(self, name: str) -> DemoModel:
        if name not in self.models:
            raise ValueError(f'unknown model {name!r}; loaded: {", ".join(self.models)}')
        return self.models[name]


def _image(examples: Sequence[str]) -> gr.Image:
    img = gr.Image(type='numpy', image_mode='RGB', sources=['upload', 'clipboard'], label='Image')
    if examples:
        gr.Examples([[p] for p in examples], [img], label='Example photos')
    return img


def _classification_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            topk = gr.Slider(1, 20, value=5, step=1, label='Top-k')
            run = gr.Button('Classify', variant='primary')
        out = gr.Label(label='Top-k classes (probability)')
    run.click(_shown_errors(lambda name, x, k: tasks.classify(pick(name), x, k)), [pick.menu, img, topk], out,
              api_name='classify')


def _segmentation_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            alpha = gr.Slider(0., 1., value=0.5, step=0.05, label='Colour opacity')
            run = gr.Button('Segment', variant='primary')
        with gr.Column():
            overlay = gr.Image(type='numpy', format='png', label='Predicted classes over the photo')
            shares = gr.Label(label='Share of the pixels')
    run.click(_shown_errors(lambda name, x, a: tasks.segment(pick(name), x, a)), [pick.menu, img, alpha],
              [overlay, shares], api_name='segment')


def _vqa_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            question = gr.Textbox(label='Question', placeholder='what color is the circle?')
            topk = gr.Slider(1, 20, value=5, step=1, label='Top-k')
            run = gr.Button('Answer', variant='primary')
        out = gr.Label(label='Answers (sigmoid score)')
    run.click(_shown_errors(lambda name, x, q, k: tasks.answer(pick(name), x, q, k)), [pick.menu, img, question, topk],
              out, api_name='answer')


def _caption_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            run = gr.Button('Caption', variant='primary')
        out = gr.Textbox(label='Caption')
    run.click(_shown_errors(lambda name, x: tasks.caption(pick(name), x)), [pick.menu, img], out, api_name='caption')


def _ranked_texts(dm: DemoModel, rgb: np.ndarray, lines: str) -> List[list]:
    ranked = tasks.rank_texts_for_image(dm, rgb, tasks.split_lines(lines))
    return [[r + 1, t, round(s, 6)] for r, (t, s) in enumerate(ranked)]


def _ranked_images(dm: DemoModel, text: str, files: Sequence[str]) -> tuple:
    photos = [np.asarray(Image.open(f).convert('RGB')) for f in files or []]
    ranked = tasks.rank_images_for_text(dm, text, photos)
    gallery = [(photos[i], f'#{r + 1}  cosine {s:.3f}') for r, (i, s) in enumerate(ranked)]
    return gallery, [[r + 1, osp.basename(files[i]), round(s, 6)] for r, (i, s) in enumerate(ranked)]


def _retrieval_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    gr.Markdown('**Image to texts**: rank the candidate texts (one per line) for the image.')
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            lines = gr.Textbox(label='Candidate texts (one per line)', lines=4,
                               value='a woman in uniform.\na cat on a sofa.\na red circle on the left.')
            run = gr.Button('Rank texts', variant='primary')
        texts_out = gr.Dataframe(headers=['rank', 'text', 'cosine'], label='Texts, best match first')
    run.click(_shown_errors(lambda name, x, t: _ranked_texts(pick(name), x, t)), [pick.menu, img, lines], texts_out,
              api_name='rank_texts')
    gr.Markdown('**Text to images**: rank the uploaded images for the text.')
    with gr.Row():
        with gr.Column():
            query = gr.Textbox(label='Query text', placeholder='a photo of a woman.')
            files = gr.File(file_count='multiple', file_types=['image'], type='filepath', label='Images')
            run2 = gr.Button('Rank images', variant='primary')
        with gr.Column():
            gallery = gr.Gallery(label='Images, best match first', format='png', columns=4)
            images_out = gr.Dataframe(headers=['rank', 'image', 'cosine'], label='Scores')
    run2.click(_shown_errors(lambda name, q, f: _ranked_images(pick(name), q, f)), [pick.menu, query, files],
               [gallery, images_out], api_name='rank_images')


def _zero_shot_tab(models: Sequence[DemoModel], examples: Sequence[str]) -> None:
    pick = _Picker(models)
    gr.Markdown('Each class becomes a prompt (the template with the class name); the image goes to the class whose '
                'prompt embedding is closest (softmax over the cosine similarities times the learned scale).')
    with gr.Row():
        with gr.Column():
            img = _image(examples)
            names = gr.Textbox(label='Class names (comma-separated)', value='woman, man, cat, dog')
            template = gr.Textbox(label='Template', value='a photo of a {}.')
            run = gr.Button('Classify', variant='primary')
        out = gr.Label(label='Class probabilities')
    run.click(_shown_errors(lambda name, x, c, t: tasks.zero_shot(pick(name), x, c, t)),
              [pick.menu, img, names, template], out, api_name='zero_shot')


TABS: Dict[str, Callable] = dict(classification=_classification_tab, segmentation=_segmentation_tab, vqa=_vqa_tab,
                                 caption=_caption_tab, retrieval=_retrieval_tab, zero_shot=_zero_shot_tab)


def tab_titles(models: Sequence[DemoModel]) -> List[str]:
    """The titles of the tabs the page shows for ``models``, in page order."""
    have = {m.task for m in models} | ({'zero_shot'} if any(m.task == 'retrieval' for m in models) else set())
    return [TAB_TITLES[t] for t in TABS if t in have]


def build_app(models: Sequence[DemoModel], examples: Sequence[str] = ()) -> gr.Blocks:
    """The page for the loaded models.

    Args:
        models: From :func:`tools.web_demo.tasks.load_models`.
        examples: Photo paths offered as examples under every image input.

    Returns:
        The gradio app (not launched).
    """
    if not models:
        raise ValueError('web demo: give at least one model (CONFIG CHECKPOINT)')
    sizes = ['resized to %dx%d px' % m.input_size if m.input_size else 'as the test pipeline reads it' for m in models]
    rows = '\n'.join(f'| {m.name} | {m.task} | {size} |' for m, size in zip(models, sizes, strict=True))
    with gr.Blocks(title='beitmm web demo', theme=THEME, analytics_enabled=False) as app:
        gr.Markdown('# beitmm web demo\n\n| model | task | input |\n|---|---|---|\n' + rows)
        with gr.Tabs():
            for task, make_tab in TABS.items():
                chosen = [m for m in models if m.task == ('retrieval' if task == 'zero_shot' else task)]
                if chosen:
                    with gr.Tab(TAB_TITLES[task]):
                        make_tab(chosen, examples)
    return app

"""Serve a gradio page on 127.0.0.1 for classification, segmentation, VQA, captioning and retrieval models.

    python tools/web_demo.py CONFIG CHECKPOINT [--port 7860]
    python tools/web_demo.py --model CONFIG CHECKPOINT --model CONFIG CHECKPOINT ... [--cfg-options k=v ...]

Each model's task comes from its class (classifier, segmentor, VQA, captioning or retrieval model); the page has a tab
per task given, plus zero-shot classification for retrieval models. The server listens on 127.0.0.1 only and makes
no outside requests (no share link, no analytics); each tab's button is also an HTTP endpoint (see the page's
"Use via API" link).
"""
import argparse
import glob
import os
import os.path as osp
from typing import List, Optional, Tuple

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # gradio would report usage over the network

HOST = '127.0.0.1'


def default_examples() -> List[str]:
    """A real photo to try: matplotlib's ``grace_hopper.jpg`` (matplotlib is a beitmm dependency), if found."""
    import matplotlib
    return glob.glob(osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'sample_data', 'grace_hopper.jpg'))


def parse_args(argv: Optional[List[str]] = None) -> Tuple[argparse.Namespace, List[Tuple[str, str]]]:
    """The options and the ``(config, checkpoint)`` pairs (positional pair first, then each ``--model``)."""
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(prog='tools/web_demo.py', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('pair', nargs='*', metavar='CONFIG CHECKPOINT', help='one model (short form)')
    p.add_argument('--model', nargs=2, action='append', default=[], metavar=('CONFIG', 'CHECKPOINT'),
                   help='a model; repeat for several')
    p.add_argument('--port', type=int, default=7860, help='port on 127.0.0.1 (default 7860)')
    p.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1', ...")
    p.add_argument('--examples', nargs='*', default=None, metavar='IMAGE',
                   help="example photos under each image input (default: matplotlib's grace_hopper.jpg)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, help='overrides of every config')
    args = p.parse_args(argv)
    if len(args.pair) not in (0, 2):
        p.error(f'give one model as CONFIG CHECKPOINT, or several with --model CONFIG CHECKPOINT; got {args.pair}')
    specs = ([tuple(args.pair)] if args.pair else []) + [tuple(m) for m in args.model]
    if not specs:
        p.error('give a model: CONFIG CHECKPOINT, or --model CONFIG CHECKPOINT (repeatable)')
    return args, specs


def main(argv: Optional[List[str]] = None) -> None:
    """Load the models, build the page and serve it until interrupted."""
    args, specs = parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise SystemExit('the web demo needs gradio 5: pip install -r requirements/deploy.txt, then pip install '
                         '--no-deps -r requirements/webdemo.txt (make setup installs both)') from None
    from .app import build_app, tab_titles
    from .tasks import load_models
    models = load_models(specs, device=args.device, cfg_options=args.cfg_options)
    examples = default_examples() if args.examples is None else args.examples
    app = build_app(models, examples)
    for m in models:
        print(f'[web_demo] {m.name}: {m.task}', flush=True)
    print(f'[web_demo] tabs: {", ".join(tab_titles(models))}', flush=True)
    app.queue().launch(server_name=HOST, server_port=args.port, share=False, inbrowser=False, show_error=True)


if __name__ == '__main__':
    main()

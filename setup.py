"""Install beitmm: ``pip install -e .`` (``make demo`` / ``make test`` do it for you)."""
import os.path as osp

from setuptools import find_packages, setup


def parse_requirements(fname: str) -> list:
    """Read one requirements file, skipping comments and blank lines."""
    here = osp.dirname(osp.abspath(__file__))
    with open(osp.join(here, 'requirements', fname)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def get_version() -> str:
    """Read ``__version__`` from ``beitmm/version.py`` without importing the package."""
    scope: dict = {}
    with open(osp.join(osp.dirname(osp.abspath(__file__)), 'beitmm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='beitmm',
    version=get_version(),
    description='OpenMMLab-style toolbox for the BEiT family (masked image modeling, multimodal, language)',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    package_data={'beitmm': ['resources/zero_shot/*.txt']},  # zero-shot class names and prompt templates
    python_requires='>=3.10',
    install_requires=parse_requirements('runtime.txt'),
    extras_require=dict(
        tests=parse_requirements('tests.txt'),
        optional=parse_requirements('optional.txt'),
        mim=parse_requirements('mminstall.txt'),
        lint=parse_requirements('lint.txt'),
        multimodal=parse_requirements('multimodal.txt'),
        seq2seq=parse_requirements('seq2seq.txt'),
        docs=parse_requirements('docs.txt'),
        he=parse_requirements('he.txt'),
        det=parse_requirements('detection.txt'),
        captioning=parse_requirements('captioning.txt'),
        # ONNX export and the web demo's dependencies; gradio itself goes in with --no-deps (requirements/webdemo.txt)
        deploy=parse_requirements('deploy.txt'),
        all=parse_requirements('tests.txt') + parse_requirements('optional.txt') + parse_requirements('multimodal.txt')
        + parse_requirements('seq2seq.txt') + parse_requirements('he.txt') + parse_requirements('detection.txt'),
    ),
    license='Apache License 2.0',
    zip_safe=False,
)

"""`python tools/web_demo.py CONFIG CHECKPOINT [--model CONFIG CHECKPOINT ...] [--port 7860]`: a gradio web demo.

Serves, on 127.0.0.1 only, a page with a tab per task of the given models (classification, segmentation overlay,
VQA, captioning, image-text retrieval, and zero-shot classification for retrieval models). The code lives in the
package tools/web_demo/ (`--help` lists the options); this script runs its command line, after switching to the
repository's .venv where needed (tools/_bootstrap.py). From the repository root, `python -m tools.web_demo` is the
same with an interpreter that has the dependencies.
"""
import os.path as osp
import runpy

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))  # .venv/bin/python where needed

from web_demo.__main__ import main  # the package tools/web_demo/, beside this script

if __name__ == '__main__':
    main()

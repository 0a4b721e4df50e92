"""Benchmarks of beitmm against the reference implementations: ``python tools/analysis_tools/benchmark.py TASK``.

``__main__`` holds the command line; ``compare`` times the model tasks side by side (``tasks`` builds the model
pairs, ``multiway`` BEiT-3's), ``utils`` the measurement helpers; every other task has its own module
(``masking``, ``captioning``, ``retrieval``, ``seq2seq``, ``electra``, ``the_x``, ``vl_pretrain``,
``pretrain_data``).
"""

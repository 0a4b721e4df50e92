"""The demos of each model family: ``python tools/demo.py --task NAME`` (``make demo``: the vision task).

``__main__`` holds the command line and the task table, ``stages`` the stage runner every demo uses, and one module
per family (``vision``, ``vl``, ``vl_pretrain``, ``seq2seq``, ``electra``, ``the_x``) its data, stages and table.
"""

"""Helpers for tests and demos, never imported by the runtime package (mmengine.testing's precedent).

- :mod:`.synthetic`: generated datasets in the real on-disk layouts (ImageNet, ADE20K, unlabeled folders).
- :mod:`.shrink` / :mod:`.beitv2`: the shipped configs shrunk to tiny shapes (need a checkout: ``configs/``).
"""

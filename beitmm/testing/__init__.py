"""Helpers for tests and demos, never imported by the runtime package (mmengine.testing's precedent).

- :mod:`.synthetic`: generated datasets in the real on-disk layouts (ImageNet, ADE20K, unlabeled folders).
- :mod:`.synthetic_vl`: generated scenes with truthful VQAv2 / NLVR2 / Karpathy-caption annotations in the
  released layouts.
- :mod:`.shrink` / :mod:`.beitv2`: the shipped configs shrunk to tiny shapes (read from a checkout's ``configs/``
  or ``$BEITMM_CONFIGS``).
- :mod:`.vl`: tiny text tokenizers trained offline, tiny VL backbones, VL configs shrunk to tiny shapes.
"""

"""Pack the views and the mask of a masked-image-modeling sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from beitmm.registry import TRANSFORMS


def _to_chw(img: np.ndarray) -> torch.Tensor:
    img = img[..., None] if img.ndim == 2 else img
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))  # [3, H, W] uint8


@TRANSFORMS.register_module()
class PackMIMInputs(BaseTransform):
    """Pack ``img`` (+ ``img_tokenizer``) as ``inputs`` and ``mask`` into a data sample.

    Output: ``inputs`` = [student view [3, H, W]] or [student, target view]; ``data_samples`` =
    ``BaseDataElement(mask=[Hp, Wp] bool tensor)`` with ``img_path`` metainfo.

    Args:
        view_keys: Result keys of the views, student first.
    """

    def __init__(self, view_keys=('img', 'img_tokenizer')) -> None:
        self.view_keys = tuple(view_keys)

    def transform(self, results: dict) -> dict:
        """Pack the views and the mask of one sample.

        Args:
            results: Sample dict with the views (``view_keys``, [H, W, C] arrays) and ``mask``.

        Returns:
            ``dict(inputs=[view [C, H, W], ...], data_samples=BaseDataElement with mask)``.

        Raises:
            KeyError: If ``results`` has no ``mask``.
        """
        if 'mask' not in results:
            raise KeyError('PackMIMInputs found no "mask": put a mask generator (beitmm.BlockwiseMaskGenerator) '
                           'before it in the pipeline')
        views = [_to_chw(results[k]) for k in self.view_keys if k in results]
        sample = BaseDataElement(metainfo=dict(img_path=results.get('img_path')))
        sample.mask = torch.from_numpy(np.asarray(results['mask'], dtype=bool))
        return dict(inputs=views, data_samples=sample)

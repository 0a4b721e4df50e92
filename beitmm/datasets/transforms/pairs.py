"""Transforms over lists of images (NLVR2's image pairs)."""
from typing import Optional

from mmpretrain.datasets.transforms import ApplyToList as _ApplyToList

from beitmm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ApplyToList(_ApplyToList):
    """mmpretrain's ``ApplyToList``, but a sample whose any image is skipped (corrupt) is skipped as a whole.

    mmpretrain's crashes on the ``None`` that ``RobustLoadImageFromFile(on_corrupt='skip')`` returns for one image of
    a pair; returning ``None`` for the sample lets the dataset draw another one, as for single images.

    Args:
        transforms: Transforms applied to each element of ``results[scatter_key]``.
        scatter_key: The list-valued key (``'img_path'``).
        collate_keys: Keys gathered back into lists.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the transforms to every element; None when any element is skipped."""
        scatter = results.get(self.scatter_key)
        if not isinstance(scatter, list):
            return self.transforms(results)
        singles = []
        for item in scatter:
            single = self.transforms({**results, self.scatter_key: item})
            if single is None:
                return None
            singles.append(single)
        out = singles[0]
        for key in singles[0]:
            if key in self.collate_keys:
                out[key] = [s[key] for s in singles]
        return out

"""The segmentation label-range check shared by the low-memory loss and ``beitmm.DataHealthHook``."""
from torch import Tensor


class SegLabelRangeError(ValueError):
    """A segmentation map holds a value outside ``[0, num_classes)`` that is not ``ignore_index``."""


def out_of_range_labels(label: Tensor, num_classes: int, ignore_index: int) -> Tensor:
    """Label values outside ``[0, num_classes)`` other than ``ignore_index``.

    Args:
        label: Segmentation labels of any shape (integer tensor).
        num_classes: Classes of the decode head.
        ignore_index: Value allowed outside the range.

    Returns:
        The sorted distinct bad values (empty when the labels fit the head).
    """
    values = label.unique()
    return values[((values < 0) | (values >= num_classes)) & (values != ignore_index)]

"""Check segmentation labels against the model's classes; log how many corrupt images were skipped.

A label value at or above the decode head's ``num_classes`` (other than ``ignore_index``) makes
the loss fail with "Target 151 is out of bounds" on CPU or a device-side assert on GPU, naming
neither the file nor the cause (usually a wrong ``num_classes`` or ``reduce_zero_label``).
``DataHealthHook`` checks every batch's ``gt_sem_seg`` (a ``torch.unique`` per batch) and stops
with the annotation file, the bad values and the fix.
"""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from beitmm.models.decode_heads.label_check import SegLabelRangeError, out_of_range_labels
from beitmm.registry import HOOKS


def _corrupt_counters(dataset):
    pipeline = getattr(dataset, 'pipeline', None)
    found = [t for t in getattr(pipeline, 'transforms', []) if hasattr(t, 'num_skipped')]
    if hasattr(dataset, 'num_skipped'):  # a source that drops samples itself (beitmm.WebDatasetPairs' bad texts)
        found.append(dataset)
    for source in getattr(dataset, 'sources', {}).values():  # the streams of beitmm.MultiSourceDataset
        found += _corrupt_counters(source)
    return found


@HOOKS.register_module()
class DataHealthHook(Hook):
    """Stop on out-of-range segmentation labels; log counts of skipped corrupt images.

    Added to every run by ``beitmm.engine.runner.build_runner``; a no-op for models without a
    ``decode_head``.

    Args:
        check_seg_labels: Check ``gt_sem_seg`` of every batch. Defaults to True.
    """

    priority = 'HIGH'

    def __init__(self, check_seg_labels: bool = True) -> None:
        self.check_seg_labels = check_seg_labels
        self._logged_skips = 0

    @staticmethod
    def _label_range(runner) -> Optional[tuple]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'decode_head', None)
        if head is None or not hasattr(head, 'num_classes'):
            return None
        return int(head.num_classes), int(getattr(head, 'ignore_index', 255))

    def _check(self, runner, data_batch) -> None:
        if not self.check_seg_labels or not isinstance(data_batch, dict):
            return
        label_range = self._label_range(runner)
        if label_range is None:
            return
        num_classes, ignore_index = label_range
        for sample in data_batch.get('data_samples') or []:
            seg = getattr(sample, 'gt_sem_seg', None)
            if seg is None:
                continue
            bad = out_of_range_labels(seg.data, num_classes, ignore_index)
            if bad.numel():
                path = sample.metainfo.get('seg_map_path', '<unknown annotation file>')
                reduce = sample.metainfo.get('reduce_zero_label')
                raise SegLabelRangeError(
                    f"Segmentation label(s) {bad.tolist()} in '{path}' are outside [0, {num_classes - 1}] "
                    f'(the decode head has num_classes={num_classes}; ignore_index={ignore_index} is allowed; '
                    f'reduce_zero_label={reduce}). Fix: set num_classes of decode_head / auxiliary_head to '
                    'the dataset\'s class count, check reduce_zero_label (ADE20K raw maps use 0 = other), or '
                    'remap the file\'s values.')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Check the batch's segmentation labels.

        Args:
            runner: The runner.
            batch_idx: Batch index.
            data_batch: The batch.
        """
        self._check(runner, data_batch)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Check the batch's segmentation labels (a bad value would skew mIoU).

        Args:
            runner: The runner.
            batch_idx: Batch index.
            data_batch: The batch.
        """
        self._check(runner, data_batch)

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Check the batch's segmentation labels.

        Args:
            runner: The runner.
            batch_idx: Batch index.
            data_batch: The batch.
        """
        self._check(runner, data_batch)

    def after_train_epoch(self, runner) -> None:
        """Log how many corrupt training samples (images, unreadable WebDataset texts) were skipped so far.

        Args:
            runner: The runner.
        """
        total = sum(t.num_skipped for t in _corrupt_counters(runner.train_dataloader.dataset))
        if total:
            print_log(f'Corrupt training samples skipped so far: {total} ({total - self._logged_skips} in epoch '
                      f'{runner.epoch + 1}); see the "Skipped corrupt image" / "Skipped a sample" warnings for the '
                      'files',
                      logger='current', level=logging.WARNING)
            runner.message_hub.update_info('corrupt_images_skipped', total)
        self._logged_skips = total

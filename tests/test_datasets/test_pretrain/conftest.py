"""Tiny synthetic pretraining data (pairs in both layouts, images, texts), written once per session."""
import pytest


@pytest.fixture(scope='session')
def pretrain_data(tmp_path_factory):
    """24 pairs (3 shards), 16 images, 24 texts at 32 px; no bad samples."""
    from beitmm.testing.synthetic_pretrain import make_pretrain_data
    return make_pretrain_data(str(tmp_path_factory.mktemp('pretrain') / 'clean'), num_pairs=24, num_images=16,
                              num_texts=24, num_shards=3)


@pytest.fixture(scope='session')
def bad_pretrain_data(tmp_path_factory):
    """Like ``pretrain_data`` with a truncated JPEG (pair 2), a missing image (pair 9) and an empty caption (13)."""
    from beitmm.testing.synthetic_pretrain import make_pretrain_data
    return make_pretrain_data(str(tmp_path_factory.mktemp('pretrain') / 'bad'), num_pairs=24, num_images=16,
                              num_texts=24, num_shards=3, corrupt_pairs={2: 'truncated', 9: 'missing', 13: 'empty'})

"""The transcribed ImageNet-A / -R class lists against an independent source: Hendrycks et al.'s own index lists.

beitmm's wnid tables come from unilm's ``beit2/imagenet_a_r_indices.py``. The index lists below come from the
datasets' authors: ImageNet-A's ``indices_in_1k`` (the keys of ``thousand_k_to_200`` that are not -1, hendrycks/
natural-adv-examples ``eval.py``, commit 0777070) and ImageNet-R's ``imagenet_r_indices`` (the commented list in
hendrycks/imagenet-r ``eval.py``, commit 3131cac). A few entries are also checked against the ImageNet-1k class list
by hand (0 tench n01440764, 1 goldfish n01443537, 6 stingray n01498041, 151 Chihuahua n02085620, 988 acorn n12267677,
999 toilet tissue n15075141).
"""
from beitmm.datasets.robustness import IMAGENET_1K_WNIDS, IMAGENET_A_WNIDS, IMAGENET_R_WNIDS, subset_indices

HENDRYCKS_A = [
    6, 11, 13, 15, 17, 22, 23, 27, 30, 37, 39, 42, 47, 50, 57, 70, 71, 76, 79, 89,
    90, 94, 96, 97, 99, 105, 107, 108, 110, 113, 124, 125, 130, 132, 143, 144, 150, 151, 207, 234,
    235, 254, 277, 283, 287, 291, 295, 298, 301, 306, 307, 308, 309, 310, 311, 313, 314, 315, 317, 319,
    323, 324, 326, 327, 330, 334, 335, 336, 347, 361, 363, 372, 378, 386, 397, 400, 401, 402, 404, 407,
    411, 416, 417, 420, 425, 428, 430, 437, 438, 445, 456, 457, 461, 462, 470, 472, 483, 486, 488, 492,
    496, 514, 516, 528, 530, 539, 542, 543, 549, 552, 557, 561, 562, 569, 572, 573, 575, 579, 589, 606,
    607, 609, 614, 626, 627, 640, 641, 642, 643, 658, 668, 677, 682, 684, 687, 701, 704, 719, 736, 746,
    749, 752, 758, 763, 765, 768, 773, 774, 776, 779, 780, 786, 792, 797, 802, 803, 804, 813, 815, 820,
    823, 831, 833, 835, 839, 845, 847, 850, 859, 862, 870, 879, 880, 888, 890, 897, 900, 907, 913, 924,
    932, 933, 934, 937, 943, 945, 947, 951, 954, 956, 957, 959, 971, 972, 980, 981, 984, 986, 987, 988,
]
HENDRYCKS_R = [
    1, 2, 4, 6, 8, 9, 11, 13, 22, 23, 26, 29, 31, 39, 47, 63, 71, 76, 79, 84,
    90, 94, 96, 97, 99, 100, 105, 107, 113, 122, 125, 130, 132, 144, 145, 147, 148, 150, 151, 155,
    160, 161, 162, 163, 171, 172, 178, 187, 195, 199, 203, 207, 208, 219, 231, 232, 234, 235, 242, 245,
    247, 250, 251, 254, 259, 260, 263, 265, 267, 269, 276, 277, 281, 288, 289, 291, 292, 293, 296, 299,
    301, 308, 309, 310, 311, 314, 315, 319, 323, 327, 330, 334, 335, 337, 338, 340, 341, 344, 347, 353,
    355, 361, 362, 365, 366, 367, 368, 372, 388, 390, 393, 397, 401, 407, 413, 414, 425, 428, 430, 435,
    437, 441, 447, 448, 457, 462, 463, 469, 470, 471, 472, 476, 483, 487, 515, 546, 555, 558, 570, 579,
    583, 587, 593, 594, 596, 609, 613, 617, 621, 629, 637, 657, 658, 701, 717, 724, 763, 768, 774, 776,
    779, 780, 787, 805, 812, 815, 820, 824, 833, 847, 852, 866, 875, 883, 889, 895, 907, 928, 931, 932,
    933, 934, 936, 937, 943, 945, 947, 948, 949, 951, 953, 954, 957, 963, 965, 967, 980, 981, 983, 988,
]


def test_imagenet_1k_wnids_are_the_1000_classes_in_index_order():
    assert len(IMAGENET_1K_WNIDS) == len(set(IMAGENET_1K_WNIDS)) == 1000
    assert list(IMAGENET_1K_WNIDS) == sorted(IMAGENET_1K_WNIDS)  # the 1k index order is the sorted wnid order
    hand = {0: 'n01440764', 1: 'n01443537', 6: 'n01498041', 151: 'n02085620', 988: 'n12267677', 999: 'n15075141'}
    assert {i: IMAGENET_1K_WNIDS[i] for i in hand} == hand


def test_subsets_have_200_increasing_classes_of_imagenet_1k():
    for wnids in (IMAGENET_A_WNIDS, IMAGENET_R_WNIDS):
        assert len(wnids) == len(set(wnids)) == 200 and set(wnids) <= set(IMAGENET_1K_WNIDS)
        assert list(wnids) == sorted(wnids)
    for variant in ('imagenet-a', 'imagenet-r'):
        indices = subset_indices(variant)
        assert len(indices) == 200 and all(a < b for a, b in zip(indices, indices[1:], strict=False))


def test_subset_indices_equal_the_dataset_authors_lists():
    assert subset_indices('imagenet-a') == HENDRYCKS_A
    assert subset_indices('imagenet-r') == HENDRYCKS_R
    assert HENDRYCKS_A[:3] == [6, 11, 13] and HENDRYCKS_A[-3:] == [986, 987, 988]  # stingray ... acorn
    assert HENDRYCKS_R[:3] == [1, 2, 4] and HENDRYCKS_R[-1] == 988  # goldfish ... acorn


def test_full_variants_keep_all_1000_classes():
    assert subset_indices('imagenet-sketch') == list(range(1000)) == subset_indices('imagenet-v2')

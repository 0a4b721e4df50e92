"""Generate the synthetic demo datasets (ImageNet, ADE20K, unlabeled and vision-language layouts).

Example:
    python tools/misc/make_demo_data.py --out data/demo --img-size 64 --seed 0

writes ``<out>/imagenet``, ``<out>/ade/ADEChallengeData2016``, ``<out>/unlabeled``, ``<out>/vl``
(``vl/coco``: VQAv2 + Karpathy COCO, ``vl/flickr30k``, ``vl/nlvr2``, ``vl/corpus.txt``) and ``<out>/pretrain``
(image-text pairs as JSON lines + folder and as WebDataset shards, images, texts: ``--only pretrain``).
"""
import argparse
import os.path as osp
import runpy
import time
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from beitmm.testing.synthetic import make_classification_data, make_segmentation_data, make_unlabeled_data
from beitmm.testing.synthetic_pretrain import make_pretrain_data
from beitmm.testing.synthetic_vl import make_vl_data

PARTS = ('imagenet', 'ade', 'unlabeled', 'vl', 'pretrain')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.

    Returns:
        The parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Generate synthetic beitmm demo datasets.')
    parser.add_argument('--out', default='data/demo', help='output directory')
    parser.add_argument('--img-size', type=int, default=64, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--num-classes', type=int, default=4, help='ImageNet-style classes')
    parser.add_argument('--train-per-class', type=int, default=100)
    parser.add_argument('--val-per-class', type=int, default=25)
    parser.add_argument('--ade-classes', type=int, default=4,
                        help='raw ADE20K labels in use (1 = background, 2.. = shapes)')
    parser.add_argument('--ade-cue', choices=('shape', 'texture', 'hue'), default='shape',
                        help='what tells the segmentation classes apart: shape, fill texture, or shape + hue band')
    parser.add_argument('--ade-max-shapes', type=int, default=3, help='1 to this many shapes per scene')
    parser.add_argument('--ade-radius', type=float, nargs=2, default=(0.18, 0.35), metavar=('MIN', 'MAX'),
                        help='shape radius range, fraction of the image side')
    parser.add_argument('--ade-train', type=int, default=200)
    parser.add_argument('--ade-val', type=int, default=40)
    parser.add_argument('--unlabeled', type=int, default=500, help='number of unlabeled images')
    parser.add_argument('--unlabeled-scenes', type=float, default=0.,
                        help='share of unlabeled images that are multi-shape scenes (the rest: one shape each)')
    parser.add_argument('--unlabeled-scene-cue', choices=('shape', 'texture', 'hue'), default='shape',
                        help='what tells the shapes of the unlabeled scenes apart (as --ade-cue)')
    parser.add_argument('--vl-nlvr2', type=int, nargs=2, default=None, metavar=('TRAIN', 'VAL'),
                        help='VL: NLVR2 train and dev / test1 image pairs (default: half of --vl-train / --vl-val)')
    parser.add_argument('--vl-train', type=int, default=400,
                        help='VL: COCO train2014 images (Flickr30K train images and NLVR2 train pairs: half)')
    parser.add_argument('--vl-val', type=int, default=100,
                        help='VL: COCO val2014 images (test2015, Flickr30K val / test, NLVR2 dev / test1: half)')
    parser.add_argument('--pretrain-pairs', type=int, default=800, help='pretraining: image-text pairs')
    parser.add_argument('--pretrain-images', type=int, default=800, help='pretraining: images of the image stream')
    parser.add_argument('--pretrain-texts', type=int, default=1600, help='pretraining: lines of texts.txt')
    parser.add_argument('--pretrain-shards', type=int, default=4, help='pretraining: WebDataset shards of the pairs')
    parser.add_argument('--only', nargs='+', choices=PARTS, default=list(PARTS),
                        help='generate only these parts')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace earlier synthetic output in the target folders')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Generate the requested datasets and print their sizes and config hints.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    if 'imagenet' in args.only:
        t = time.perf_counter()
        info = make_classification_data(
            osp.join(args.out, 'imagenet'), num_classes=args.num_classes,
            train_per_class=args.train_per_class, val_per_class=args.val_per_class,
            img_size=args.img_size, seed=args.seed, overwrite=args.overwrite)
        print(f"imagenet : {info['num_train']} train + {info['num_val']} val images, "
              f"{len(info['classes'])} classes {info['classes']} -> {info['root']} "
              f'({time.perf_counter() - t:.1f}s)')
        print(f"           config: type='beitmm.ImageNet', data_root='{info['root']}', split='train'|'val'")
    if 'ade' in args.only:
        t = time.perf_counter()
        info = make_segmentation_data(
            osp.join(args.out, 'ade', 'ADEChallengeData2016'), num_train=args.ade_train,
            num_val=args.ade_val, img_size=args.img_size, num_classes=args.ade_classes,
            seed=args.seed, overwrite=args.overwrite, cue=args.ade_cue, max_shapes=args.ade_max_shapes,
            radius=tuple(args.ade_radius))
        print(f"ade20k   : {info['num_train']} train + {info['num_val']} val images, "
              f"classes after reduce_zero_label {info['classes']} -> {info['root']} "
              f'({time.perf_counter() - t:.1f}s)')
        print(f"           config: type='beitmm.ADE20KDataset', data_root='{info['root']}', "
              "data_prefix=dict(img_path='images/training', seg_map_path='annotations/training')")
    if 'unlabeled' in args.only:
        t = time.perf_counter()
        info = make_unlabeled_data(osp.join(args.out, 'unlabeled'), num_images=args.unlabeled,
                                   img_size=args.img_size, seed=args.seed, overwrite=args.overwrite,
                                   scene_fraction=args.unlabeled_scenes, scene_cue=args.unlabeled_scene_cue)
        print(f"unlabeled: {info['num_images']} images -> {info['root']} ({time.perf_counter() - t:.1f}s)")
        print(f"           config: type='beitmm.UnlabeledImageFolder', data_root='{info['root']}'")
    if 'vl' in args.only:
        t = time.perf_counter()
        info = make_vl_data(osp.join(args.out, 'vl'), num_train_images=args.vl_train, num_val_images=args.vl_val,
                            nlvr2_pairs=args.vl_nlvr2,
                            img_size=args.img_size, seed=args.seed, overwrite=args.overwrite)
        print(f"vl       : {info['num_images']} images, {info['num_questions_train2014']} + "
              f"{info['num_questions_val2014']} VQAv2 train + val questions, {len(info['answers'])} answers "
              f"-> {info['root']} ({time.perf_counter() - t:.1f}s)")
        print(f"           config: type='beitmm.VQAv2', data_root='{info['coco_root']}', split=('train', "
              "'trainable_val') | 'rest_val', rest_val_images=20; type='beitmm.KarpathyCaption' / "
              f"'beitmm.KarpathyRetrieval', data_root='{info['coco_root']}' (or '{info['flickr30k_root']}', "
              f"ann_file='dataset_flickr30k.json'); type='beitmm.NLVR2', data_root='{info['nlvr2_root']}', "
              "split='train'|'dev'|'test1'")
    if 'pretrain' in args.only:
        t = time.perf_counter()
        info = make_pretrain_data(osp.join(args.out, 'pretrain'), num_pairs=args.pretrain_pairs,
                                  num_images=args.pretrain_images, num_texts=args.pretrain_texts,
                                  img_size=args.img_size, num_shards=args.pretrain_shards, seed=args.seed,
                                  overwrite=args.overwrite)
        print(f"pretrain : {info['num_pairs']} pairs ({len(info['shards'])} shards), {info['num_images']} images, "
              f"{info['num_texts']} texts -> {info['root']} ({time.perf_counter() - t:.1f}s)")
        print(f"           config: configs/_base_/datasets/vl_pretrain_beit3.py with data_root='{info['root']}'; "
              f"WebDataset: type='beitmm.WebDatasetPairs', shards='{info['shard_pattern']}'")
    print(f'done in {time.perf_counter() - start:.1f}s')


if __name__ == '__main__':
    main()

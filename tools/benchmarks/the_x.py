"""The ``the-x`` task of ``benchmark.py``: THE-X encrypted inference (TenSEAL CKKS) of a tiny BEiT classifier.

A randomly initialised classifier (width 32, 2 blocks, 2 heads, ``--img-size`` px images in 16 px patches;
``--arch tiny`` is the default, any wider arch is refused: width <= 64 keeps CKKS runs in seconds) is converted
(GELU -> client ReLU, THE-X softmax, affine norms) and ``--batch-size`` images are classified on ciphertext with
the parameters derived from the circuit depth. Printed: the CKKS parameters and key generation time, the
latency of each layer (server work and the client's round trips inside it, one process), per sample, against
the plaintext approximated model, the ciphertext sizes and traffic, the client round trips, and the largest
relative difference of the decrypted logits from the plaintext ones.
"""
import statistics
import time

import torch


def _model(img: int):
    from mmengine.registry import init_default_scope

    from beitmm.models.the_x import convert_model
    from beitmm.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='beitmm.BEiT', arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                      img_size=img, patch_size=16),
        neck=None, head=dict(type='mmpretrain.LinearClsHead', num_classes=4, in_channels=32)))
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'relative_position' in name:
                p.normal_(0, .2)
    return convert_model(model.eval()).eval()


def run_the_x(args) -> None:
    """Print the THE-X encrypted-inference measurements (see the module docstring)."""
    if getattr(args, 'text', False):  # THE-X on a text encoder (MiniLM): the_x_text.py
        from .the_x_text import run_the_x_text
        return run_the_x_text(args)
    from beitmm.he import CIRCUIT_DEPTH, derive_params, encrypted_inference, make_context, plan_image_classifier
    if args.arch not in ('base', 'tiny'):
        raise SystemExit('the-x: only the built-in tiny classifier (width 32) is benchmarked')
    model = _model(args.img_size)
    images = torch.randn(args.batch_size, 3, args.img_size, args.img_size, generator=torch.Generator().manual_seed(0))
    plan = plan_image_classifier(model)
    params = derive_params(CIRCUIT_DEPTH, plan.slots)
    t = time.perf_counter()
    ctx = make_context(params)
    keygen = time.perf_counter() - t
    with torch.no_grad():
        model(images, mode='tensor')  # warm-up
        t = time.perf_counter()
        ref = model(images, mode='tensor').double().numpy()
        plain = (time.perf_counter() - t) / len(images)
    run = encrypted_inference(model, images, ctx)
    rel = float(abs(run.logits - ref).max() / abs(ref).max())
    b, w = len(images), run.wire
    print(f'\nTHE-X encrypted inference: width 32, 2 blocks, 2 heads, {args.img_size} px images, {plan.tokens} tokens; '
          f'{b} samples; CKKS N={params.poly_modulus_degree} coeff {params.coeff_mod_bit_sizes} scale '
          f'2^{params.scale_bits} (depth {CIRCUIT_DEPTH} between refreshes); keygen {keygen:.2f} s')
    print(f'{"layer":<20}{"s / sample":>12}')
    for name, sec in run.server_seconds.items():
        print(f'{name:<20}{sec / b:>12.3f}')
    print(f'{"per sample (median)":<20}{statistics.median(run.seconds_per_sample):>12.3f}   plaintext approximated: '
          f'{plain * 1e3:.2f} ms; client work inside: {w.client_seconds / b:.3f} s')
    print(f'round trips / sample: {w.round_trips // b} ({ {k: v // b for k, v in w.by_op.items()} })')
    print(f'ciphertext: largest {w.max_ciphertext_bytes / 1e3:.0f} KB; per sample {w.ciphertexts_to_server // b} to '
          f'the server ({w.bytes_to_server / b / 1e6:.1f} MB), {w.ciphertexts_to_client // b} to the client '
          f'({w.bytes_to_client / b / 1e6:.1f} MB)')
    print(f'max relative difference of the decrypted logits from the plaintext approximated model: {rel:.2e}')

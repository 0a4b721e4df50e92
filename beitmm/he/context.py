"""CKKS contexts for the encrypted runtime: parameters derived from the circuit depth, checked before running.

TenSEAL is an optional extra (``requirements/he.txt``) imported lazily by :func:`require_tenseal`.

Rules (TenSEAL / SEAL): every ciphertext multiplication (ct x ct or ct x plain) consumes one middle prime of the
coefficient modulus, and the middle primes equal log2(scale); a circuit of multiplicative depth ``d`` between two
refreshes (fresh encryptions by the client) needs ``d`` middle primes: ``[outer, scale x d, outer]``. The total bit
count must stay within SEAL's 128-bit-security budget of the polynomial modulus degree N (``SECURITY_BUDGET``), and a
vector needs at most N / 2 slots.
"""
from dataclasses import dataclass, field
from typing import List

SECURITY_BUDGET = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}  # SEAL, 128-bit security


class HEDepthError(ValueError):
    """The CKKS context cannot evaluate the circuit's depth between refreshes."""


class HEKeyError(ValueError):
    """The CKKS context lacks keys the circuit needs (Galois keys for rotations)."""


def require_tenseal():
    """Import TenSEAL, or raise an ImportError saying how to install it."""
    try:
        import tenseal
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('the encrypted runtime (beitmm.he) needs TenSEAL: pip install -r requirements/he.txt '
                          '(tenseal==0.3.18)') from e
    return tenseal


@dataclass
class CKKSParams:
    """CKKS parameters.

    Args:
        poly_modulus_degree: N (slots = N / 2).
        coeff_mod_bit_sizes: Bit sizes of the coefficient-modulus primes ``[outer, middle..., outer]``.
        scale_bits: log2 of the scale (= the middle primes).
    """

    poly_modulus_degree: int
    coeff_mod_bit_sizes: List[int] = field(default_factory=list)
    scale_bits: int = 40

    @property
    def levels(self) -> int:
        """Multiplications possible between refreshes (middle primes)."""
        return len(self.coeff_mod_bit_sizes) - 2


def derive_params(depth: int, slots: int = 1, scale_bits: int = 40, outer_bits: int = 60) -> CKKSParams:
    """The smallest 128-bit-secure CKKS parameters for a circuit depth between refreshes.

    Args:
        depth: Multiplicative depth between two refreshes.
        slots: Longest vector the circuit encrypts.
        scale_bits: log2 scale (40: precise enough for a 64x64 matvec; 21 bits is not).
        outer_bits: First / last prime bits (the first prime minus the scale bounds the decrypted magnitude).

    Returns:
        The parameters.
    """
    bits = [outer_bits] + [scale_bits] * depth + [outer_bits]
    for n, budget in SECURITY_BUDGET.items():
        if sum(bits) <= budget and n // 2 >= slots:
            return CKKSParams(n, bits, scale_bits)
    raise HEDepthError(f'no 128-bit-secure CKKS parameters for depth {depth} with a {scale_bits}-bit scale and '
                       f'{slots} slots ({sum(bits)} coefficient bits; budgets {SECURITY_BUDGET}); refresh more often '
                       'or encrypt shorter vectors')


def make_context(params: CKKSParams, galois_keys: bool = True):
    """A private TenSEAL CKKS context (the client's: holds the secret key).

    Args:
        params: CKKS parameters.
        galois_keys: Generate Galois keys (rotations: matmul, dot, sum need them).

    Returns:
        ``tenseal.Context``.
    """
    ts = require_tenseal()
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, params.poly_modulus_degree, coeff_mod_bit_sizes=params.coeff_mod_bit_sizes)
    ctx.global_scale = 2.0 ** params.scale_bits
    if galois_keys:
        ctx.generate_galois_keys()
    return ctx


def context_levels(ctx) -> int:
    """Middle primes (multiplicative levels) of a TenSEAL CKKS context."""
    return int(ctx.seal_context().data.first_context_data().chain_index())


def poly_modulus_degree(ctx) -> int:
    """N of a TenSEAL context."""
    return int(ctx.seal_context().data.first_context_data().parms().poly_modulus_degree())


def check_context(ctx, depth: int, slots: int) -> None:
    """Raise a clear error when a context cannot run a circuit, before anything is encrypted.

    Args:
        ctx: TenSEAL CKKS context.
        depth: The circuit's multiplicative depth between refreshes.
        slots: Longest vector of the circuit.
    """
    levels, n = context_levels(ctx), poly_modulus_degree(ctx)
    if levels < depth:
        p = derive_params(depth, slots)
        raise HEDepthError(f'the circuit needs {depth} multiplicative levels between client refreshes but the CKKS '
                           f'context (poly_modulus_degree {n}) has {levels}; use e.g. poly_modulus_degree '
                           f'{p.poly_modulus_degree}, coeff_mod_bit_sizes {p.coeff_mod_bit_sizes}, scale 2^'
                           f'{p.scale_bits} (beitmm.he.derive_params({depth}, {slots}))')
    if n // 2 < slots:
        raise HEDepthError(f'the circuit encrypts vectors of {slots} values; poly_modulus_degree {n} has only '
                           f'{n // 2} slots')
    if not ctx.has_galois_keys():
        raise HEKeyError('the CKKS context has no Galois keys: encrypted matmul / dot / sum rotate ciphertexts; '
                         'call context.generate_galois_keys() on the client before sending the public context')

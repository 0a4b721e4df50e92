"""The THE-X client / server protocol: what crosses the wire, the client's round trips and their counts.

The client holds the secret key. It encrypts its input, and in each round trip decrypts what the server sends,
applies ReLU where THE-X has the client compute it (``op='relu'``) or nothing (``op='refresh'``: a fresh
encryption restores the CKKS levels), optionally regroups the values into the vectors the server asks for
(``gather``: index lists into the concatenation of the decrypted vectors; model-independent layout metadata), and
re-encrypts. Every ciphertext crosses as serialized bytes, so the server side only ever holds the public context.
"""
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .context import require_tenseal

Check = Tuple[int, int, float, float, str, int]  # (start, stop, lo, hi, what, group): flat slice [start, stop)
IndexCheck = Tuple[np.ndarray, float, float, str, bool]  # (index, lo, hi, what, sum over the last axis)


@dataclass
class Wire:
    """Traffic counters of one protocol run."""

    round_trips: int = 0
    by_op: Dict[str, int] = field(default_factory=dict)
    bytes_to_client: int = 0
    bytes_to_server: int = 0
    ciphertexts_to_client: int = 0
    ciphertexts_to_server: int = 0
    client_seconds: float = 0.
    max_ciphertext_bytes: int = 0
    out_of_range: Dict[str, int] = field(default_factory=dict)
    checked: Dict[str, int] = field(default_factory=dict)


class Client:
    """The data owner: secret context, encryption, the round trips of the THE-X protocol.

    Args:
        context: Private TenSEAL CKKS context (with Galois keys).
    """

    def __init__(self, context) -> None:
        self.ts = require_tenseal()
        self.context = context
        self.wire = Wire()

    def public_context(self) -> bytes:
        """The serialized context without the secret key (what the server receives)."""
        pub = self.context.copy()
        pub.make_context_public()
        return pub.serialize(save_public_key=True, save_secret_key=False, save_galois_keys=True,
                             save_relin_keys=True)

    def _send(self, vectors: Sequence[np.ndarray]) -> List[bytes]:
        out = [self.ts.ckks_vector(self.context, np.asarray(v, dtype=np.float64).tolist()).serialize()
               for v in vectors]
        self.wire.ciphertexts_to_server += len(out)
        self.wire.bytes_to_server += sum(map(len, out))
        self.wire.max_ciphertext_bytes = max([self.wire.max_ciphertext_bytes, *map(len, out)])
        return out

    def encrypt(self, vectors: Sequence[np.ndarray]) -> List[bytes]:
        """Encrypt input vectors (e.g. token embeddings) for the server, one ciphertext each."""
        return self._send(vectors)

    def encrypt_matrix(self, matrix: np.ndarray) -> bytes:
        """Encrypt a matrix [rows, cols] in one ciphertext for encrypted-matrix x plain-vector products."""
        blob = self.ts.enc_matmul_encoding(self.context, np.asarray(matrix, dtype=np.float64).tolist()).serialize()
        self.wire.ciphertexts_to_server += 1
        self.wire.bytes_to_server += len(blob)
        self.wire.max_ciphertext_bytes = max(self.wire.max_ciphertext_bytes, len(blob))
        return blob

    def decrypt(self, blobs: Sequence[bytes]) -> List[np.ndarray]:
        """Decrypt the server's result vectors (e.g. logits)."""
        self.wire.ciphertexts_to_client += len(blobs)
        self.wire.bytes_to_client += sum(map(len, blobs))
        return [np.asarray(self.ts.ckks_vector_from(self.context, b).decrypt()) for b in blobs]

    def _count(self, values: np.ndarray, lo: float, hi: float, what: str) -> None:
        """Count ``values`` and those outside [lo, hi] under ``what``."""
        self.wire.checked[what] = self.wire.checked.get(what, 0) + values.size
        self.wire.out_of_range[what] = self.wire.out_of_range.get(what, 0) + int(((values < lo) | (values > hi)).sum())

    def round_trip(self, blobs: Sequence[bytes], op: str, gather: Optional[Sequence[np.ndarray]] = None,
                   checks: Sequence[Check] = (), index_checks: Sequence[IndexCheck] = ()) -> List[bytes]:
        """One client step of the protocol.

        Args:
            blobs: Serialized ciphertexts from the server.
            op: 'relu' (THE-X: the client computes ReLU) or 'refresh' (decrypt and re-encrypt).
            gather: Index arrays into the concatenated decrypted values, one per vector to return (default: the
                same vectors); index -1 gives 0; a 2-d array [slots, K] returns the sums over its last axis.
            checks: Documented input ranges to count: ``(start, stop, lo, hi, what, group)`` on the concatenated
                values (``group > 1``: check sums of consecutive groups, e.g. softmax row sums).
            index_checks: The same by index arrays (-1: 0): ``(index, lo, hi, what, summed)``, ``summed``: check the
                sums over the last axis.

        Returns:
            Serialized fresh ciphertexts for the server.
        """
        if op not in ('relu', 'refresh'):
            raise ValueError(f'unknown client op {op!r}')
        t = time.perf_counter()
        values = self.decrypt(blobs)
        flat = np.concatenate(values)
        for start, stop, lo, hi, what, group in checks:
            part = flat[start:stop]
            self._count(part.reshape(-1, group).sum(1) if group > 1 else part, lo, hi, what)
        padded = np.append(flat, 0.)  # index -1 reads this 0
        for idx, lo, hi, what, summed in index_checks:
            self._count(padded[idx].sum(-1) if summed else padded[idx], lo, hi, what)
        if op == 'relu':
            flat = np.maximum(flat, 0.)
            padded = np.append(flat, 0.)
        if gather is None:
            sizes = np.cumsum([0] + [v.size for v in values])
            out = [flat[a:b] for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        else:
            out = [padded[idx].sum(-1) if idx.ndim == 2 else padded[idx] for idx in gather]
        blobs_out = self._send(out)
        self.wire.round_trips += 1
        self.wire.by_op[op] = self.wire.by_op.get(op, 0) + 1
        self.wire.client_seconds += time.perf_counter() - t
        return blobs_out

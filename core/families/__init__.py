"""Families and duplicates: the same drawing in several publications (US/EP/WO/CN family members)
or re-scans, found by a perceptual hash of the drawing plus the encoder's cosine.

``hashes`` — pHash per figure (cropped to the ink), cached per corpus; ``groups`` — the
near-identical test, families of a ranked list, copies to leave out of a draw.
"""
from .groups import MAX_HASH_BITS, MIN_COSINE, Family, check_thresholds, copies_of_kept, cosine, families, near_identical, vectors_of
from .hashes import corpus_hashes, hamming, hamming_matrix, image_hash

__all__ = ["MAX_HASH_BITS", "MIN_COSINE", "Family", "check_thresholds", "copies_of_kept", "cosine", "families",
           "near_identical", "vectors_of", "corpus_hashes", "hamming", "hamming_matrix", "image_hash"]

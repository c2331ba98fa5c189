//! ML-DSA (FIPS 204): the kernel's checks on a signature's encoding, before the arithmetic.

//! The fs-verity file digest (Documentation/filesystems/fsverity.rst), which IMA v3
//! signatures cover: a Merkle tree over 4 KiB blocks, no salt, then the hash of the
//! 256-byte `fsverity_descriptor`. Computed in userspace so a v3 signature can be checked
//! without an fs-verity filesystem.

use crate::errno::{Errno, KResult};
use crate::hash::{Digest, HashAlgo, Hasher};

const BLOCK: usize = 4096;

/// fs-verity's own algorithm numbers.
fn verity_algo(h: HashAlgo) -> KResult<u8> {
    match h {
        HashAlgo::Sha256 => Ok(1),
        HashAlgo::Sha512 => Ok(2),
        _ => Err(Errno::EINVAL),
    }
}

fn hash_block(h: HashAlgo, block: &[u8]) -> KResult<Digest> {
    let mut s = Hasher::new(h)?;
    s.update(block);
    if block.len() < BLOCK {
        s.update(&[0u8; BLOCK][..BLOCK - block.len()]);
    }
    s.finish()
}

/// The Merkle root: hash every block of a level, pack the hashes into blocks, repeat until
/// one block remains, hash it. An empty file has an all-zero root.
fn merkle_root(h: HashAlgo, data: &[u8]) -> KResult<Vec<u8>> {
    if data.is_empty() {
        return Ok(vec![0; h.digest_len()]);
    }
    let mut level: std::borrow::Cow<'_, [u8]> = data.into();
    while level.len() > BLOCK {
        let mut next = Vec::with_capacity(level.len().div_ceil(BLOCK) * h.digest_len());
        for b in level.chunks(BLOCK) {
            next.extend_from_slice(hash_block(h, b)?.as_bytes());
        }
        level = next.into();
    }
    Ok(hash_block(h, &level)?.as_bytes().to_vec())
}

/// The fs-verity file digest of `data` with `h` (sha256 or sha512).
pub fn digest(h: HashAlgo, data: &[u8]) -> KResult<Digest> {
    let algo = verity_algo(h)?;
    let root = merkle_root(h, data)?;
    let mut desc = [0u8; 256];
    desc[0] = 1;
    desc[1] = algo;
    desc[2] = 12;
    desc[8..16].copy_from_slice(&(data.len() as u64).to_le_bytes());
    desc[16..16 + root.len()].copy_from_slice(&root);
    h.digest(&desc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_block_root_is_the_padded_block_hash() {
        let root = merkle_root(HashAlgo::Sha256, b"abc").unwrap();
        let mut block = vec![0u8; BLOCK];
        block[..3].copy_from_slice(b"abc");
        assert_eq!(
            root,
            HashAlgo::Sha256.digest(&block).unwrap().as_bytes().to_vec()
        );
        assert!(digest(HashAlgo::Sha1, b"x").is_err());
    }
}

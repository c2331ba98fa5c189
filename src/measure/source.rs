//! Where a run's items come from, streamed in chunks, and how a corpus splits into shards.
//!
//! A generated corpus is read from its `manifest.tsv` one chunk at a time (memory bounded by
//! the chunk, not by the corpus: a million-item manifest never sits in memory at once); any
//! other directory is walked once up front. Either way only the items of the requested
//! shard are kept.

use crate::corpus::manifest::{parse_manifest_line as parse_manifest_row, Expected};
use crate::engine::{self, Item};
use crate::error::{Error, Result};
use crate::verify::ItemKind;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Items per chunk: large enough to keep every core busy, small enough that a million-item
/// corpus never sits in memory at once.
pub const CHUNK: usize = 16_384;

/// Which shard an item belongs to (0-based, below `shards`): a stable hash of its path
/// relative to the corpus root, so every machine splits the same corpus the same way.
/// (`shards` 0 is taken as 1: everything is shard 0.)
pub fn shard_of(relative_path: &str, shards: u32) -> u32 {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, relative_path.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(head) % u64::from(shards.max(1))) as u32
}

/// Shard `index` of `count` (1-based, as on the command line: `--shard 2/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; needs 1 ≤ index ≤ count.
    pub fn new(index: u32, count: u32) -> Result<Shard> {
        if count == 0 || index == 0 || index > count {
            return Err(Error::usage(format!(
                "shard {index}/{count}: need 1 <= K <= N"
            )));
        }
        Ok(Shard { index, count })
    }

    /// 1-based.
    pub fn index(self) -> u32 {
        self.index
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether the item at `relative_path` (relative to the corpus root) is in this shard.
    pub fn contains(self, relative_path: &str) -> bool {
        shard_of(relative_path, self.count) == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// `K/N`.
    fn from_str(s: &str) -> Result<Shard> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| Error::usage("expected K/N, e.g. 2/8"))?;
        let k: u32 = k.parse().map_err(|_| Error::usage("K is not a number"))?;
        let n: u32 = n.parse().map_err(|_| Error::usage("N is not a number"))?;
        Shard::new(k, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Whether `dir` is a generated corpus (a manifest of expected verdicts and the keyring
/// script that builds its trust).
pub fn is_generated(dir: &Path) -> bool {
    dir.join("manifest.tsv").exists() && dir.join("keyring.script").exists()
}

/// Receives one chunk of items and their manifest rows (empty for plain trees).
pub(crate) type ChunkFn<'a> = dyn FnMut(&[Item], &[Expected]) -> Result<()> + 'a;

/// Where a run's items come from, already restricted to one shard.
pub(crate) enum Source {
    /// A generated corpus: `manifest.tsv`, streamed on every pass.
    Manifest {
        dir: PathBuf,
        shard: Option<Shard>,
        /// Only rows of this kind (`run --kind`, `pq`'s module and file passes).
        kind: Option<ItemKind>,
    },
    /// Any directory tree, walked once; only the shard's items are kept.
    Tree(Vec<Item>),
}

impl Source {
    /// The items of `dir`: the manifest of a generated corpus, else every file of the tree;
    /// of `kind` only, when given.
    pub fn open(dir: &Path, kind: Option<ItemKind>, shard: Option<Shard>) -> Result<Source> {
        if is_generated(dir) {
            return Ok(Source::Manifest {
                dir: dir.to_path_buf(),
                shard,
                kind,
            });
        }
        let items = engine::discover(dir)
            .map_err(|e| Error::io(dir, e))?
            .into_iter()
            .filter(|i| kind.is_none_or(|k| i.kind == k))
            .filter(|i| {
                shard.is_none_or(|s| {
                    s.contains(
                        &i.path
                            .strip_prefix(dir)
                            .unwrap_or(&i.path)
                            .to_string_lossy(),
                    )
                })
            })
            .collect();
        Ok(Source::Tree(items))
    }

    /// Calls `f` with consecutive chunks of items (and, for manifests, their expected
    /// verdicts), in corpus order; a manifest stops being read once a stop is requested
    /// ([`crate::engine::interrupt`]).
    pub fn for_each_chunk(&self, f: &mut ChunkFn<'_>) -> Result<()> {
        match self {
            Source::Tree(all) => {
                for c in all.chunks(CHUNK) {
                    f(c, &[])?;
                }
                Ok(())
            }
            Source::Manifest { dir, shard, kind } => {
                use std::io::BufRead;
                let path = dir.join("manifest.tsv");
                let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
                let mut items = Vec::with_capacity(CHUNK);
                let mut expected = Vec::with_capacity(CHUNK);
                for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
                    // A stop request ends the walk: the rest of a huge manifest would take
                    // longer to read than a stop may.
                    if crate::engine::interrupt::requested() {
                        return Ok(());
                    }
                    let line = line.map_err(|e| Error::io(&path, e))?;
                    let Some(e) = parse_manifest_row(i + 1, &line)? else {
                        continue;
                    };
                    if !shard.is_none_or(|s| s.contains(&e.path))
                        || !kind.is_none_or(|k| e.kind == k)
                    {
                        continue;
                    }
                    // The manifest's kind must be the one rule's (`ItemKind::of_path`), or
                    // `run` would judge the item differently from `verify`.
                    let item =
                        Item::declared(dir.join(&e.path), e.kind).map_err(|m| Error::Manifest {
                            line: i + 1,
                            message: m.to_string(),
                        })?;
                    items.push(item);
                    expected.push(e);
                    if items.len() == CHUNK {
                        f(&items, &expected)?;
                        items.clear();
                        expected.clear();
                    }
                }
                if !items.is_empty() {
                    f(&items, &expected)?;
                }
                Ok(())
            }
        }
    }

    /// How many items one pass sees.
    pub fn count(&self) -> Result<usize> {
        if let Source::Tree(all) = self {
            return Ok(all.len());
        }
        let mut total = 0usize;
        self.for_each_chunk(&mut |items, _| {
            total += items.len();
            Ok(())
        })?;
        Ok(total)
    }

    /// Up to `limit` items spread evenly over the `total` items of the source (for
    /// calibration samples).
    pub fn spread(&self, total: usize, limit: usize) -> Result<Vec<Item>> {
        let stride = total.div_ceil(limit.max(1)).max(1);
        let mut sampled = Vec::new();
        let mut index = 0usize;
        self.for_each_chunk(&mut |items, _| {
            for it in items {
                if index.is_multiple_of(stride) {
                    sampled.push(it.clone());
                }
                index += 1;
            }
            Ok(())
        })?;
        Ok(sampled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn paths(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match i % 3 {
                0 => format!("modules/m{i:06}.ko"),
                1 => format!("files/f{i:06}.bin"),
                _ => format!("kernel/drivers/net/d{i}.ko.xz"),
            })
            .collect()
    }

    #[test]
    fn shard_of_is_stable() {
        // Pinned: a shard assignment that changes would split a corpus differently on
        // machines running different builds, and `merge` would double-count or drop items.
        // The first 8 bytes of SHA-256(path), big-endian, mod 1000 (checked with Python's
        // hashlib).
        const PINNED: [u32; 4] = [377, 649, 250, 652];
        let got: Vec<u32> = ["modules/m000000.ko", "files/f000001.bin", "a", ""]
            .iter()
            .map(|p| shard_of(p, 1000))
            .collect();
        assert_eq!(got, PINNED, "shard_of changed its assignment");
        for p in paths(200) {
            assert_eq!(shard_of(&p, 7), shard_of(&p, 7), "{p}");
            assert_eq!(shard_of(&p, 1), 0, "{p}: one shard holds everything");
        }
    }
    #[test]
    fn every_item_lands_in_exactly_one_shard() {
        let all = paths(3000);
        for n in [1u32, 2, 3, 8, 13] {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard::new(k, n).unwrap()).collect();
            for p in &all {
                let holders = shards.iter().filter(|s| s.contains(p)).count();
                assert_eq!(holders, 1, "{p} is in {holders} of {n} shards");
                assert!(shard_of(p, n) < n);
            }
        }
    }

    #[test]
    fn shards_split_evenly_ish() {
        let all = paths(16_000);
        for n in [2u32, 4, 8] {
            let mut sizes = vec![0usize; n as usize];
            for p in &all {
                sizes[shard_of(p, n) as usize] += 1;
            }
            let fair = all.len() / n as usize;
            for (k, s) in sizes.iter().enumerate() {
                assert!(
                    s.abs_diff(fair) * 10 < fair,
                    "shard {}/{n} holds {s} of {} items (fair share {fair}): {sizes:?}",
                    k + 1,
                    all.len()
                );
            }
        }
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard::new(2, 8).unwrap());
        assert_eq!(Shard::new(3, 4).unwrap().to_string(), "3/4");
        for (bad, why) in [
            ("0/4", "need 1 <= K <= N"),
            ("5/4", "need 1 <= K <= N"),
            ("1/0", "need 1 <= K <= N"),
            ("3", "expected K/N"),
            ("x/4", "K is not a number"),
            ("1/y", "N is not a number"),
        ] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{bad}: {e:?}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    /// A plain tree split into shards: the shards' items are disjoint and together are
    /// the whole tree, in order within each shard.
    #[test]
    fn tree_sources_partition_by_shard() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        for i in 0..60 {
            let rel = match i % 3 {
                0 => format!("m{i}.ko"),
                1 => format!("sub/f{i}.bin"),
                _ => format!("sub/deeper/g{i}.ko.zst"),
            };
            std::fs::write(root.join(&rel), b"x").unwrap();
            if i % 5 == 0 {
                std::fs::write(root.join(format!("{rel}.sig")), b"s").unwrap();
            }
        }
        let whole = Source::open(root, None, None).unwrap();
        assert_eq!(whole.count().unwrap(), 60, "sidecars are not items");
        let mut all = BTreeSet::new();
        whole
            .for_each_chunk(&mut |items, expected| {
                assert!(expected.is_empty());
                all.extend(items.iter().map(|i| i.path.clone()));
                Ok(())
            })
            .unwrap();
        let mut seen = BTreeSet::new();
        for k in 1..=4 {
            let s = Source::open(root, None, Some(Shard::new(k, 4).unwrap())).unwrap();
            s.for_each_chunk(&mut |items, _| {
                for i in items {
                    assert!(seen.insert(i.path.clone()), "{} twice", i.path.display());
                }
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(seen, all);
        let modules = Source::open(root, Some(ItemKind::Module), None).unwrap();
        assert_eq!(modules.count().unwrap(), 40);
        let spread = whole.spread(60, 7).unwrap();
        assert_eq!(spread.len(), 7, "every 9th of 60 items");
    }
}

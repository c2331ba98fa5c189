//! A keyring: ordered links plus indexes, so lookups by id are hash lookups, not scans.
//!
//! The kernel iterates every key for `id:`/`ex:`/`dn:` searches; the result is the same as
//! long as the first match is the same, so each index keeps, per id value, the serials of
//! the linked keys in link order. Nested keyrings are kept apart: a search looks at the
//! keyring's own keys first, then descends into nested keyrings in link order.

use super::key::{AsymmetricKey, Serial};
use super::restrict::Restriction;
use std::collections::HashMap;

/// One keyring's contents and gatekeeper.
#[derive(Debug, Default)]
pub struct Keyring {
    pub name: String,
    /// Every link in link order (keys and keyrings).
    links: Vec<Serial>,
    /// Nested keyrings, in link order.
    nested: Vec<Serial>,
    /// Exact id (`id[0]` and `id[1]`) → serials.
    by_id: HashMap<Box<[u8]>, Vec<Serial>>,
    /// Last 4 bytes of `id[0]`/`id[1]` → serials (IMA 32-bit keyids, tail matches).
    by_tail: HashMap<[u8; 4], Vec<Serial>>,
    /// Subject (`id[2]`) → serials.
    by_dn: HashMap<Box<[u8]>, Vec<Serial>>,
    /// Description → serial (one key per description and type per keyring).
    by_desc: HashMap<String, Serial>,
    /// The gatekeeper, set at most once.
    pub restriction: Option<Restriction>,
    /// Whether userspace may add or link into this keyring (system keyrings differ).
    pub user_writable: bool,
    /// KEY_FLAG_KEEP: entries cannot be unlinked and the keyring cannot be cleared.
    pub keep: bool,
}

fn push(map: &mut HashMap<Box<[u8]>, Vec<Serial>>, k: &[u8], s: Serial) {
    map.entry(k.into()).or_default().push(s);
}

fn remove(map: &mut HashMap<Box<[u8]>, Vec<Serial>>, k: &[u8], s: Serial) {
    if let Some(v) = map.get_mut(k) {
        v.retain(|x| *x != s);
        if v.is_empty() {
            map.remove(k);
        }
    }
}

fn tail4(v: &[u8]) -> Option<[u8; 4]> {
    v.len()
        .checked_sub(4)
        .map(|i| [v[i], v[i + 1], v[i + 2], v[i + 3]])
}

impl Keyring {
    pub fn new(name: &str, user_writable: bool) -> Keyring {
        Keyring {
            name: name.to_string(),
            user_writable,
            ..Default::default()
        }
    }

    pub fn links(&self) -> &[Serial] {
        &self.links
    }

    pub fn nested(&self) -> &[Serial] {
        &self.nested
    }

    pub fn contains(&self, s: Serial) -> bool {
        self.links.contains(&s)
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The key linked under `desc`, if any.
    pub fn by_description(&self, desc: &str) -> Option<Serial> {
        self.by_desc.get(desc).copied()
    }

    /// Links an asymmetric key.
    pub fn link_key(&mut self, s: Serial, desc: &str, key: Option<&AsymmetricKey>) {
        self.links.push(s);
        self.by_desc.insert(desc.to_string(), s);
        if let Some(k) = key {
            for id in std::iter::once(&*k.ids.id).chain(k.ids.skid.as_deref()) {
                push(&mut self.by_id, id, s);
                if let Some(t) = tail4(id) {
                    self.by_tail.entry(t).or_default().push(s);
                }
            }
            push(&mut self.by_dn, &k.ids.subject, s);
        }
    }

    /// Links a nested keyring.
    pub fn link_keyring(&mut self, s: Serial) {
        self.links.push(s);
        self.nested.push(s);
    }

    /// Removes a link; the caller passes the key (if asymmetric) to clean the indexes.
    pub fn unlink(&mut self, s: Serial, desc: &str, key: Option<&AsymmetricKey>) {
        self.links.retain(|x| *x != s);
        self.nested.retain(|x| *x != s);
        if self.by_desc.get(desc) == Some(&s) {
            self.by_desc.remove(desc);
        }
        if let Some(k) = key {
            for id in std::iter::once(&*k.ids.id).chain(k.ids.skid.as_deref()) {
                remove(&mut self.by_id, id, s);
                if let Some(t) = tail4(id) {
                    if let Some(v) = self.by_tail.get_mut(&t) {
                        v.retain(|x| *x != s);
                        if v.is_empty() {
                            self.by_tail.remove(&t);
                        }
                    }
                }
            }
            remove(&mut self.by_dn, &k.ids.subject, s);
        }
    }

    /// Removes every link.
    pub fn clear(&mut self) -> Vec<Serial> {
        let old = std::mem::take(&mut self.links);
        self.nested.clear();
        self.by_id.clear();
        self.by_tail.clear();
        self.by_dn.clear();
        self.by_desc.clear();
        old
    }

    /// Candidates for an exact id (`ex:`), in link order.
    pub fn exact_candidates(&self, id: &[u8]) -> &[Serial] {
        self.by_id.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Candidates for a subject (`dn:`), in link order.
    pub fn dn_candidates(&self, dn: &[u8]) -> &[Serial] {
        self.by_dn.get(dn).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Candidates whose id may end with `tail` (`id:`): the 4-byte tail index narrows the
    /// set; shorter tails fall back to every link.
    pub fn partial_candidates(&self, tail: &[u8]) -> &[Serial] {
        match tail4(tail) {
            Some(t) => self.by_tail.get(&t).map(Vec::as_slice).unwrap_or(&[]),
            None => &self.links,
        }
    }
}

//! The trust store: every key and keyring, the standard layered system keyrings, and the
//! trust epoch.
//!
//! All mutations go through here so that each one bumps the epoch: a verdict cached under an
//! older epoch can never be served after a revoke, unlink, clear or blacklist addition.

use super::blacklist::{self, HashKind};
pub use super::config::{CaKeys, KernelConfig, MachineCa, SystemKeyrings};
use super::key::{AsymmetricKey, Serial};
use super::keyring::Keyring;
use super::lookup::{self, KeyState, Need, Subject};
use super::restrict::{Candidate, KeyringView, Restriction, RestrictionKey};
use super::x509::{self, ParseEnv};
use crate::crypto::{Backend, CryptoProfile};
use crate::errno::{Errno, KResult};
use crate::hash::Digest;
use crate::kernel_profile::{KernelProfile, Rules};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What an object is.
#[derive(Debug)]
pub enum Payload {
    Asymmetric(Arc<AsymmetricKey>),
    BlacklistHash { kind: HashKind, hash: Box<[u8]> },
    Keyring(Box<Keyring>),
}

/// A key or keyring with its kernel-visible state.
#[derive(Debug)]
pub struct Object {
    pub payload: Payload,
    pub description: String,
    /// Live, revoked or invalidated (`key_validate`'s view).
    pub state: KeyState,
    /// KEY_FLAG_BUILTIN: loaded from the kernel's compiled-in list.
    pub builtin: bool,
}

impl Object {
    /// Whether `keyctl revoke` was applied.
    pub fn is_revoked(&self) -> bool {
        self.state == KeyState::Revoked
    }

    pub fn type_name(&self) -> &'static str {
        match self.payload {
            Payload::Asymmetric(_) => "asymmetric",
            Payload::BlacklistHash { .. } => "blacklist",
            Payload::Keyring(_) => "keyring",
        }
    }
}

/// How a key enters a keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddMode {
    /// `add_key` from userspace: write permission and the restriction apply.
    User,
    /// A kernel boot-time load: no permission check and, except for `.machine` (whose
    /// loader does not pass KEY_ALLOC_BYPASS_RESTRICTION), no restriction check.
    Bypass,
}

/// The process-wide source of trust epochs (see [`Store::epoch`]).
static EPOCHS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_epoch() -> u64 {
    EPOCHS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Keys, keyrings and the epoch.
pub struct Store {
    objects: Vec<Object>,
    config: KernelConfig,
    profile: CryptoProfile,
    backend: Arc<dyn Backend>,
    epoch: u64,
    system: SystemKeyrings,
    /// Every keyring's serial, in creation order (the possession walk visits only these).
    rings: Vec<Serial>,
    /// Keys a gatekeeper refused because the backend could not do a verification it
    /// needed (an ML-DSA chain under a backend without ML-DSA): the keyrings then differ
    /// from the kernel's, and verdicts that are not valid may come from that.
    unsupported_admissions: std::sync::atomic::AtomicUsize,
}

/// First serial handed out; arbitrary but recognisable.
const FIRST_SERIAL: Serial = 0x1000_0001;
/// KEYRING_SEARCH_MAX_DEPTH.
const MAX_SEARCH_DEPTH: usize = 6;

impl Store {
    /// The standard layered set: builtin, secondary (linking builtin, and machine when
    /// enabled), machine, platform, ima, blacklist, with the default restrictions that
    /// `config` selects.
    pub fn new(config: KernelConfig, profile: CryptoProfile, backend: Arc<dyn Backend>) -> Store {
        let mut s = Store {
            objects: Vec::new(),
            config: config.clone(),
            profile,
            backend,
            epoch: next_epoch(),
            system: SystemKeyrings {
                builtin: 0,
                secondary: None,
                machine: None,
                platform: 0,
                ima: 0,
                blacklist: 0,
                ima_blacklist: None,
            },
            rings: Vec::new(),
            unsupported_admissions: Default::default(),
        };
        let ring = |s: &mut Store, name: &str, r: Option<Restriction>, user: bool| {
            s.push_keyring(name, r, user, false)
        };
        s.system.blacklist =
            s.push_keyring(".blacklist", Some(Restriction::Blacklist), false, true);
        s.system.builtin = ring(&mut s, ".builtin_trusted_keys", None, false);
        let machine_on = config.secondary && config.machine;
        if config.secondary {
            let r = if machine_on {
                Restriction::BuiltinSecondaryAndMachine
            } else {
                Restriction::BuiltinAndSecondaryTrusted
            };
            s.system.secondary = Some(ring(&mut s, ".secondary_trusted_keys", Some(r), true));
        }
        if machine_on {
            let r = match config.machine_ca {
                MachineCa::Off => None,
                MachineCa::Ca => Some(Restriction::Ca { max: false }),
                MachineCa::CaMax => Some(Restriction::Ca { max: true }),
            };
            s.system.machine = Some(ring(&mut s, ".machine", r, false));
        }
        s.system.platform = ring(&mut s, ".platform", None, false);
        let ima_r = if config.ima_permit_secondary {
            Restriction::DigsigBuiltinAndSecondary
        } else {
            Restriction::DigsigBuiltin
        };
        s.system.ima = ring(&mut s, ".ima", Some(ima_r), true);
        if config.ima_blacklist {
            let r = s.push_keyring(
                ".ima_blacklist",
                Some(Restriction::BuiltinTrusted),
                true,
                true,
            );
            s.system.ima_blacklist = Some(r);
        }
        // Kernel-made links: builtin (and machine) into secondary.
        if let Some(sec) = s.system.secondary {
            let (b, m) = (s.system.builtin, s.system.machine);
            if let Some(k) = s.keyring_mut(sec) {
                k.link_keyring(b);
                if let Some(m) = m {
                    k.link_keyring(m);
                }
            }
        }
        s.epoch = next_epoch();
        s
    }

    pub fn config(&self) -> &KernelConfig {
        &self.config
    }

    pub fn profile(&self) -> &CryptoProfile {
        &self.profile
    }

    /// How many keys a gatekeeper refused because the backend could not do a verification
    /// the kernel would have done: non-zero means this store's keyrings are not the
    /// kernel's, so its non-valid verdicts are not the backend's to be judged by.
    pub fn unsupported_admissions(&self) -> usize {
        self.unsupported_admissions.load(Ordering::Relaxed)
    }

    /// Counts a gatekeeper's refusal that came from a verification the backend could not
    /// do (this thread's unsupported count moved since `before`), and passes it on.
    fn note_admission(&self, before: u64, r: KResult<()>) -> KResult<()> {
        if r.is_err() && crate::crypto::unsupported_count() != before {
            self.unsupported_admissions.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// The emulated kernel's rules (its release's row of the profile table).
    pub fn rules(&self) -> Rules {
        self.config.kernel.rules()
    }

    /// The emulated kernel: release and ML-DSA Kconfig.
    pub fn kernel(&self) -> KernelProfile {
        self.config.kernel
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn system(&self) -> SystemKeyrings {
        self.system
    }

    /// The trust epoch: a new value after every change of trust state. Values are drawn
    /// from one process-wide counter, so no two stores (nor a store and its replacement
    /// behind the same lock) ever share one, and a verdict or parsed certificate cached
    /// under one store's epoch can never answer for another store.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn bump(&mut self) {
        self.epoch = next_epoch();
    }

    fn index(s: Serial) -> Option<usize> {
        usize::try_from(s.checked_sub(FIRST_SERIAL)?).ok()
    }

    pub fn object(&self, s: Serial) -> Option<&Object> {
        self.objects.get(Self::index(s)?)
    }

    fn object_mut(&mut self, s: Serial) -> Option<&mut Object> {
        let i = Self::index(s)?;
        self.objects.get_mut(i)
    }

    pub fn payload(&self, s: Serial) -> Option<&Payload> {
        self.object(s).map(|o| &o.payload)
    }

    pub fn description(&self, s: Serial) -> Option<String> {
        self.description_ref(s).map(str::to_string)
    }

    /// The description without copying it.
    pub fn description_ref(&self, s: Serial) -> Option<&str> {
        self.object(s).map(|o| o.description.as_str())
    }

    pub fn is_builtin(&self, s: Serial) -> bool {
        self.object(s).is_some_and(|o| o.builtin)
    }

    pub fn asymmetric(&self, s: Serial) -> Option<&Arc<AsymmetricKey>> {
        match self.payload(s)? {
            Payload::Asymmetric(k) => Some(k),
            _ => None,
        }
    }

    pub fn keyring(&self, s: Serial) -> Option<&Keyring> {
        match self.payload(s)? {
            Payload::Keyring(k) => Some(k),
            _ => None,
        }
    }

    fn keyring_mut(&mut self, s: Serial) -> Option<&mut Keyring> {
        match &mut self.object_mut(s)?.payload {
            Payload::Keyring(k) => Some(k),
            _ => None,
        }
    }

    /// Every object serial, in creation order.
    pub fn serials(&self) -> impl Iterator<Item = Serial> + '_ {
        (0..self.objects.len()).map(|i| FIRST_SERIAL + i as Serial)
    }

    fn push(&mut self, o: Object) -> Serial {
        self.objects.push(o);
        FIRST_SERIAL + (self.objects.len() - 1) as Serial
    }

    /// `keyctl newring NAME`: a user keyring without restriction.
    pub fn new_keyring(&mut self, name: &str, user_writable: bool) -> Serial {
        self.push_keyring(name, None, user_writable, false)
    }

    /// A new keyring with its gatekeeper and KEY_FLAG_KEEP decided at creation, as the
    /// kernel creates the system keyrings.
    fn push_keyring(
        &mut self,
        name: &str,
        restriction: Option<Restriction>,
        user_writable: bool,
        keep: bool,
    ) -> Serial {
        self.bump();
        let mut k = Keyring::new(name, user_writable);
        k.restriction = restriction;
        k.keep = keep;
        let s = self.push(Object {
            payload: Payload::Keyring(Box::new(k)),
            description: name.to_string(),
            state: KeyState::Live,
            builtin: false,
        });
        self.rings.push(s);
        s
    }

    /// `key_validate`: an invalidated key is `ENOKEY`, a revoked one `EKEYREVOKED`.
    pub fn validate(&self, s: Serial) -> KResult<()> {
        self.object(s).ok_or(Errno::ENOKEY)?.state.validate()
    }

    /// Whether the caller's session reaches `s` (possession, see [`lookup`]).
    ///
    /// Every keyring in the model hangs directly off the session: user keyrings are made
    /// by `newring` (`keyctl newring NAME @s`), and the system keyrings are treated as the
    /// administrator's own (a live kernel's session cannot reach them, so replaying against
    /// it skips their lines). So a keyring is possessed until it is invalidated (garbage
    /// collection unlinks it from the session), and any other key exactly while a possessed
    /// keyring links it. A key left with no link, or held only by a keyring's restriction,
    /// is not possessed.
    pub fn possessed(&self, s: Serial) -> bool {
        let Some(o) = self.object(s) else {
            return false;
        };
        if o.state == KeyState::Invalidated {
            return false;
        }
        let is_ring = matches!(o.payload, Payload::Keyring(_));
        if is_ring {
            return true;
        }
        self.rings.iter().any(|&r| {
            self.object(r)
                .is_some_and(|ro| ro.state != KeyState::Invalidated)
                && self
                    .keyring(r)
                    .is_some_and(|k| k.by_description(&o.description) == Some(s))
        })
    }

    /// `lookup_user_key(s, need)`: `ENOKEY` when `s` does not exist, then the state and
    /// permission checks in the kernel's order.
    fn lookup_user(&self, s: Serial, need: Need) -> KResult<&Object> {
        let o = self.object(s).ok_or(Errno::ENOKEY)?;
        lookup::lookup_user_key(self.subject(s, o), need)?;
        Ok(o)
    }

    fn subject(&self, s: Serial, o: &Object) -> Subject {
        Subject {
            state: o.state,
            possessed: self.possessed(s),
            keyring: matches!(o.payload, Payload::Keyring(_)),
        }
    }

    /// Looks up a keyring an operation changes. From userspace: `lookup_user_key` (`ENOKEY`,
    /// then `ENOKEY`/`EKEYREVOKED` for an invalidated/revoked key, then `EACCES` without the
    /// permission — an asymmetric key has no write permission), then `ENOTDIR` for a key
    /// that is not a keyring, then `EACCES` for a system keyring userspace may not write.
    /// A boot-time load checks only that the keyring exists, is one and is not revoked.
    fn writable_ring(&self, ring: Serial, mode: AddMode, need: Need) -> KResult<&Keyring> {
        let o = match mode {
            AddMode::User => self.lookup_user(ring, need)?,
            AddMode::Bypass => self.object(ring).ok_or(Errno::ENOKEY)?,
        };
        let Payload::Keyring(k) = &o.payload else {
            return Err(Errno::ENOTDIR);
        };
        if mode == AddMode::User && !k.user_writable {
            return Err(Errno::EACCES);
        }
        o.state.validate()?;
        Ok(k)
    }

    fn parse_env(&self) -> (CryptoProfile, Arc<dyn Backend>) {
        (self.profile, self.backend.clone())
    }

    /// Whether `.blacklist` holds any revocation certificate (asymmetric key); without
    /// one the revocation-list check of every PKCS#7 message cannot succeed and is skipped.
    pub fn has_revocation_certs(&self) -> bool {
        self.keyring(self.system.blacklist)
            .is_some_and(|k| k.links().iter().any(|&s| self.asymmetric(s).is_some()))
    }

    /// Whether a TBS digest is in `.blacklist` (hashed lookup, as `is_hash_blacklisted`).
    pub fn is_tbs_blacklisted(&self, d: &Digest) -> bool {
        self.is_hash_blacklisted(HashKind::Tbs, d.as_bytes())
    }

    /// Whether `kind:hex(hash)` is in `.blacklist`. The description is formatted on the
    /// stack (this runs per IMA item and per certificate parse); a hash longer than any
    /// storable entry takes the allocating path and, like the kernel's lookup, finds nothing
    /// that `add_blacklist_hash` could have stored.
    pub fn is_hash_blacklisted(&self, kind: HashKind, hash: &[u8]) -> bool {
        let Some(ring) = self.keyring(self.system.blacklist) else {
            return false;
        };
        match blacklist::Description::new(kind, hash) {
            Some(d) => ring.by_description(d.as_str()).is_some(),
            None => ring
                .by_description(&blacklist::description(kind, hash))
                .is_some(),
        }
    }

    /// Parses a certificate as the asymmetric key type's preparse does.
    pub fn parse_cert(&self, der: &[u8]) -> KResult<x509::ParsedCert> {
        if der.is_empty() {
            return Err(Errno::EINVAL);
        }
        let (profile, backend) = self.parse_env();
        let bl = |d: &Digest| self.is_tbs_blacklisted(d);
        x509::parse(
            der,
            &ParseEnv {
                profile: &profile,
                rules: self.rules(),
                backend: &*backend,
                tbs_blacklisted: &bl,
            },
        )
    }

    /// `add_key("asymmetric", "", DER, ring)`: parse, refuse blacklisted certificates, run the
    /// gatekeeper (unless bypassed), then link, replacing a key with the same description.
    pub fn add_cert(&mut self, ring: Serial, der: &[u8], mode: AddMode) -> KResult<Serial> {
        self.writable_ring(ring, mode, Need::Write)?;
        let parsed = self.parse_cert(der)?;
        if parsed.blacklisted {
            return Err(Errno::EKEYREJECTED);
        }
        let key = parsed.key;
        // The kernel loads MOK certificates into `.machine` without the bypass flag
        // (add_to_machine_keyring), so its CA gate judges boot-time loads too.
        let gated = mode == AddMode::User || Some(ring) == self.system.machine;
        if gated {
            let before = crate::crypto::unsupported_count();
            let r = self.check_restriction(ring, Candidate::Asymmetric(&key));
            self.note_admission(before, r)?;
        }
        let desc = key.description.clone();
        let serial = self.push(Object {
            payload: Payload::Asymmetric(Arc::new(key)),
            description: desc,
            state: KeyState::Live,
            builtin: mode == AddMode::Bypass && ring == self.system.builtin,
        });
        self.attach(ring, serial);
        self.bump();
        Ok(serial)
    }

    /// Adds a `tbs:`/`bin:` entry to `.blacklist` (a boot-time load: the kernel's compiled
    /// list, UEFI dbx, MokListX).
    pub fn add_blacklist_hash(&mut self, kind: HashKind, hash: &[u8]) -> KResult<Serial> {
        let desc = blacklist::description(kind, hash);
        blacklist::vet(&desc)?;
        let bl = self.system.blacklist;
        if let Some(existing) = self.keyring(bl).and_then(|k| k.by_description(&desc)) {
            return Ok(existing);
        }
        let serial = self.push(Object {
            payload: Payload::BlacklistHash {
                kind,
                hash: hash.into(),
            },
            description: desc,
            state: KeyState::Live,
            builtin: false,
        });
        self.attach(bl, serial);
        self.bump();
        Ok(serial)
    }

    /// Runs `ring`'s gatekeeper, if it has one.
    fn check_restriction(&self, ring: Serial, cand: Candidate<'_>) -> KResult<()> {
        match &self.keyring(ring).ok_or(Errno::ENOTDIR)?.restriction {
            Some(r) => r.check(self, ring, cand),
            None => Ok(()),
        }
    }

    /// Links `serial` into `ring`, replacing a same-description key there.
    fn attach(&mut self, ring: Serial, serial: Serial) {
        let desc = self.object(serial).map(|o| o.description.clone());
        let key = self.asymmetric(serial).cloned();
        let is_ring = self.keyring(serial).is_some();
        let old = desc
            .as_deref()
            .and_then(|d| self.keyring(ring).and_then(|k| k.by_description(d)));
        if let (Some(old), false) = (old, is_ring) {
            if old == serial {
                return;
            }
            self.detach(ring, old);
        }
        let Some(kr) = self.keyring_mut(ring) else {
            return;
        };
        if is_ring {
            kr.link_keyring(serial);
        } else {
            kr.link_key(serial, desc.as_deref().unwrap_or(""), key.as_deref());
        }
    }

    fn detach(&mut self, ring: Serial, serial: Serial) {
        let desc = self.description(serial).unwrap_or_default();
        let key = self.asymmetric(serial).cloned();
        if let Some(kr) = self.keyring_mut(ring) {
            kr.unlink(serial, &desc, key.as_deref());
        }
    }

    /// `keyctl link KEY RING`: the gatekeeper judges the key's stored payload.
    pub fn link(&mut self, key: Serial, ring: Serial) -> KResult<()> {
        self.writable_ring(ring, AddMode::User, Need::Write)?;
        let o = self.lookup_user(key, Need::Link)?;
        let cand = match &o.payload {
            Payload::Asymmetric(k) => Candidate::Asymmetric(k),
            Payload::Keyring(_) => Candidate::Keyring(key),
            Payload::BlacklistHash { .. } => Candidate::BlacklistHash,
        };
        let before = crate::crypto::unsupported_count();
        let r = self.check_restriction(ring, cand);
        self.note_admission(before, r)?;
        if matches!(cand, Candidate::Keyring(_)) {
            self.detect_cycle(ring, key)?;
        }
        if self.keyring(ring).is_some_and(|k| k.contains(key)) {
            return Ok(());
        }
        self.attach(ring, key);
        self.bump();
        Ok(())
    }

    /// `keyring_detect_cycle(dest, linked)`: a search of `linked`'s tree for `dest` that
    /// fails instead of giving up where the tree is too deep. `linked` itself, or any
    /// keyring in its tree, being `dest` is a cycle (`EDEADLK`); meeting a nested keyring
    /// below the sixth level (`KEYRING_SEARCH_MAX_DEPTH`, `KEYRING_SEARCH_DETECT_TOO_DEEP`)
    /// is `ELOOP`, whichever of the two the depth-first walk (a keyring's own links first,
    /// then its nested keyrings in link order) meets first. Only `linked`'s tree is
    /// measured, not how deep `dest` already sits, as in the kernel: a chain built from
    /// the top down never fails.
    fn detect_cycle(&self, dest: Serial, linked: Serial) -> KResult<()> {
        if linked == dest {
            return Err(Errno::EDEADLK);
        }
        self.detect_cycle_in(dest, linked, 0)
    }

    fn detect_cycle_in(&self, dest: Serial, ring: Serial, sp: usize) -> KResult<()> {
        let Some(kr) = self.keyring(ring) else {
            return Ok(());
        };
        if kr.contains(dest) {
            return Err(Errno::EDEADLK);
        }
        for &n in kr.nested() {
            if sp >= MAX_SEARCH_DEPTH {
                return Err(Errno::ELOOP);
            }
            self.detect_cycle_in(dest, n, sp + 1)?;
        }
        Ok(())
    }

    /// `keyctl unlink KEY RING`.
    pub fn unlink(&mut self, key: Serial, ring: Serial) -> KResult<()> {
        let kr = self.writable_ring(ring, AddMode::User, Need::Write)?;
        self.lookup_user(key, Need::Unlink)?;
        if kr.keep {
            return Err(Errno::EPERM);
        }
        if !kr.contains(key) {
            return Err(Errno::ENOENT);
        }
        self.detach(ring, key);
        self.bump();
        Ok(())
    }

    /// `keyctl clear RING`.
    pub fn clear(&mut self, ring: Serial) -> KResult<()> {
        let kr = self.writable_ring(ring, AddMode::User, Need::Write)?;
        if kr.keep {
            return Err(Errno::EPERM);
        }
        if let Some(k) = self.keyring_mut(ring) {
            k.clear();
        }
        self.bump();
        Ok(())
    }

    /// `keyctl revoke KEY`: the key stays linked but every search skips it; a revoked
    /// keyring is emptied (`keyring_revoke`), so restrictions naming it find nothing and
    /// keys it alone held leave every search. Needs write or set-attribute permission, so
    /// a key the session no longer reaches is `EACCES`; revoking twice is `EKEYREVOKED`.
    pub fn revoke(&mut self, key: Serial) -> KResult<()> {
        let o = self.object(key).ok_or(Errno::ENOKEY)?;
        lookup::lookup_for_revoke(self.subject(key, o))?;
        // KEY_FLAG_KEEP (the blacklist keyrings): never revoked.
        if self.keyring(key).is_some_and(|k| k.keep) {
            return Err(Errno::EPERM);
        }
        if let Some(o) = self.object_mut(key) {
            o.state = KeyState::Revoked;
        }
        if let Some(k) = self.keyring_mut(key) {
            k.clear();
        }
        self.bump();
        Ok(())
    }

    /// `keyctl invalidate KEY`: unusable at once (`ENOKEY` from then on) and, once the
    /// garbage collector has run, linked nowhere, so no search finds it. An invalidated
    /// keyring keeps its contents while something (a restriction) still holds it, but
    /// searches of it find nothing and its keys are no longer possessed. Needs
    /// search permission: a key the session no longer reaches is `EACCES`.
    pub fn invalidate(&mut self, key: Serial) -> KResult<()> {
        self.lookup_user(key, Need::Search)?;
        if let Some(o) = self.object_mut(key) {
            o.state = KeyState::Invalidated;
        }
        let holders: Vec<Serial> = self
            .rings
            .iter()
            .copied()
            .filter(|&r| self.keyring(r).is_some_and(|k| k.contains(key)))
            .collect();
        for r in holders {
            self.detach(r, key);
        }
        self.bump();
        Ok(())
    }

    /// `keyctl restrict_keyring` with a ready restriction (see [`Store::restrict_with`]).
    pub fn restrict(&mut self, ring: Serial, r: Restriction) -> KResult<()> {
        self.restrict_with(ring, |_| Ok(r))
    }

    /// `keyctl restrict_keyring RING TYPE RESTRICTION`, in the kernel's order: the keyring
    /// is looked up (set-attribute permission, its state), must be a keyring (`ENOTDIR`),
    /// then the restriction is parsed (`parse`, whose errors come next), then it may be set
    /// only once (`EEXIST`) and must not close a cycle through restriction keys
    /// (`EDEADLK`).
    pub fn restrict_with(
        &mut self,
        ring: Serial,
        parse: impl FnOnce(&Store) -> KResult<Restriction>,
    ) -> KResult<()> {
        let o = self.lookup_user(ring, Need::SetAttr)?;
        if !matches!(o.payload, Payload::Keyring(_)) {
            return Err(Errno::ENOTDIR);
        }
        let r = parse(self)?;
        let Some(kr) = self.keyring(ring) else {
            return Err(Errno::ENOTDIR);
        };
        if kr.restriction.is_some() {
            return Err(Errno::EEXIST);
        }
        let mut next = r.key();
        while let Some(k) = next {
            let Some(kr) = self.keyring(k) else { break };
            if k == ring {
                return Err(Errno::EDEADLK);
            }
            next = kr.restriction.as_ref().and_then(Restriction::key);
        }
        if let Some(k) = self.keyring_mut(ring) {
            k.restriction = Some(r);
        }
        self.bump();
        Ok(())
    }

    /// Recursive keyring search (`keyring_search` with state checks): the keyring's own keys
    /// first, then nested keyrings in link order, depth ≤ 6; revoked keys are skipped but
    /// remembered, so a search that finds only revoked keys fails `EKEYREVOKED`.
    ///
    /// An invalidated keyring finds nothing, even while a restriction still holds it (and
    /// its contents): the live kernel answers such a restriction with `ENOKEY` at once.
    pub fn search(&self, ring: Serial, m: IdMatch<'_>) -> KResult<Serial> {
        if self
            .object(ring)
            .is_some_and(|o| o.state == KeyState::Invalidated)
        {
            return Err(Errno::ENOKEY);
        }
        let mut saw_revoked = false;
        match self.search_in(ring, m, 0, &mut saw_revoked) {
            Some(s) => Ok(s),
            None if saw_revoked => Err(Errno::EKEYREVOKED),
            None => Err(Errno::ENOKEY),
        }
    }

    fn search_in(
        &self,
        ring: Serial,
        m: IdMatch<'_>,
        depth: usize,
        saw_revoked: &mut bool,
    ) -> Option<Serial> {
        let kr = self.keyring(ring)?;
        let candidates = match m {
            IdMatch::Exact(v) => kr.exact_candidates(v),
            IdMatch::Partial(v) => kr.partial_candidates(v),
            IdMatch::Dn(v) => kr.dn_candidates(v),
        };
        for &s in candidates {
            let Some(o) = self.object(s) else { continue };
            let Payload::Asymmetric(k) = &o.payload else {
                continue;
            };
            let hit = match m {
                IdMatch::Exact(v) => k.matches_exact(v),
                IdMatch::Partial(v) => k.matches_partial(v),
                IdMatch::Dn(v) => &*k.ids.subject == v,
            };
            if !hit {
                continue;
            }
            if o.state != KeyState::Live {
                *saw_revoked = true;
                continue;
            }
            return Some(s);
        }
        if depth >= MAX_SEARCH_DEPTH {
            return None;
        }
        for &n in kr.nested() {
            if self.object(n).is_some_and(|o| o.state != KeyState::Live) {
                continue;
            }
            if let Some(s) = self.search_in(n, m, depth + 1, saw_revoked) {
                return Some(s);
            }
        }
        None
    }

    /// `find_asymmetric_key` (exact mode): look up by id0, else id1, else the issuer DN;
    /// with both id0 and id1 the found key's SKID must equal id1 (`EKEYREJECTED`).
    pub fn find_asymmetric_key(
        &self,
        ring: Serial,
        id0: Option<&[u8]>,
        id1: Option<&[u8]>,
        id2: Option<&[u8]>,
    ) -> KResult<Serial> {
        let m = match (id0, id1, id2) {
            (Some(a), _, _) => IdMatch::Exact(a),
            (None, Some(b), _) => IdMatch::Exact(b),
            (None, None, Some(c)) => IdMatch::Dn(c),
            _ => return Err(Errno::EINVAL),
        };
        // An empty id becomes the search string "ex:" / "dn:", which the kernel's id
        // parser refuses.
        if matches!(m, IdMatch::Exact([]) | IdMatch::Dn([])) {
            return Err(Errno::EINVAL);
        }
        let s = self.search(ring, m)?;
        if let (Some(_), Some(b)) = (id0, id1) {
            let k = self.asymmetric(s).ok_or(Errno::EKEYREJECTED)?;
            if k.ids.skid.as_deref() != Some(b) {
                return Err(Errno::EKEYREJECTED);
            }
        }
        Ok(s)
    }

    /// The description of `serial` as `/proc/keys` prints it, plus its restriction.
    pub fn restriction_of(&self, ring: Serial) -> Option<&Restriction> {
        self.keyring(ring)?.restriction.as_ref()
    }
}

/// How a search string matches (§3.2): `ex:`, `id:` or `dn:`.
#[derive(Clone, Copy, Debug)]
pub enum IdMatch<'a> {
    Exact(&'a [u8]),
    Partial(&'a [u8]),
    Dn(&'a [u8]),
}

/// The gatekeepers' narrow view of the store.
impl KeyringView for Store {
    fn system(&self) -> SystemKeyrings {
        self.system
    }
    fn config(&self) -> &KernelConfig {
        &self.config
    }
    fn profile(&self) -> &CryptoProfile {
        &self.profile
    }
    fn is_builtin(&self, s: Serial) -> bool {
        Store::is_builtin(self, s)
    }
    fn description(&self, s: Serial) -> Option<&str> {
        self.description_ref(s)
    }
    fn asymmetric(&self, s: Serial) -> Option<&AsymmetricKey> {
        Store::asymmetric(self, s).map(|k| &**k)
    }
    fn restriction_key(&self, s: Serial) -> Option<RestrictionKey<'_>> {
        Some(match self.payload(s)? {
            Payload::Keyring(_) => RestrictionKey::Keyring,
            Payload::Asymmetric(k) => RestrictionKey::Asymmetric(k),
            Payload::BlacklistHash { .. } => RestrictionKey::Other,
        })
    }
    fn find_asymmetric_key(
        &self,
        keyring: Serial,
        id0: Option<&[u8]>,
        id1: Option<&[u8]>,
        id2: Option<&[u8]>,
    ) -> KResult<Serial> {
        Store::find_asymmetric_key(self, keyring, id0, id1, id2)
    }
    fn validate(&self, s: Serial) -> KResult<()> {
        Store::validate(self, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::default_backend;

    /// Epochs are never shared between stores, so a cache keyed by epoch cannot answer
    /// for a store other than the one it was filled under.
    #[test]
    fn no_two_stores_share_an_epoch() {
        let new = || {
            Store::new(
                KernelConfig::default(),
                CryptoProfile::full(),
                default_backend(),
            )
        };
        let (a, mut b) = (new(), new());
        assert_ne!(a.epoch(), b.epoch());
        let before = b.epoch();
        b.new_keyring("r", true);
        assert!(b.epoch() > before, "a change moves the epoch forward");
        assert_ne!(b.epoch(), a.epoch());
    }
}

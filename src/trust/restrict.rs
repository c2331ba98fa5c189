//! Keyring gatekeepers: one variant per kernel `restrict_link_*` function, each following
//! the kernel's decision steps in order so that the first failing step gives the errno the
//! kernel gives (crypto/asymmetric_keys/restrict.c, certs/system_keyring.c, certs/blacklist.c,
//! security/keys/keyring.c).

use super::config::{CaKeys, KernelConfig, SystemKeyrings};
use super::key::{AsymmetricKey, Serial};
use crate::crypto::CryptoProfile;
use crate::errno::{Errno, KResult};

/// What a gatekeeper may see of the keyrings it consults: the narrow view the kernel's
/// `restrict_link_*` functions have (a search of a trust keyring, a key's flags and
/// description, `key_validate`), and nothing that could change them. The store implements
/// it; keeping the gatekeepers on this view means `restrict.rs` depends on no store and the
/// store depends on the gatekeepers, not the other way round (as `x509::ParseEnv` does for
/// certificate parsing).
pub trait KeyringView {
    /// Serials of the standard system keyrings.
    fn system(&self) -> SystemKeyrings;
    /// The emulated kernel's configuration.
    fn config(&self) -> &KernelConfig;
    /// The algorithms the emulated kernel has.
    fn profile(&self) -> &CryptoProfile;
    /// KEY_FLAG_BUILTIN.
    fn is_builtin(&self, s: Serial) -> bool;
    /// A key's or keyring's description.
    fn description(&self, s: Serial) -> Option<&str>;
    /// The asymmetric key behind a serial.
    fn asymmetric(&self, s: Serial) -> Option<&AsymmetricKey>;
    /// What a restriction's key serial refers to.
    fn restriction_key(&self, s: Serial) -> Option<RestrictionKey<'_>>;
    /// `find_asymmetric_key(keyring, id0, id1, id2, partial=false)`.
    fn find_asymmetric_key(
        &self,
        keyring: Serial,
        id0: Option<&[u8]>,
        id1: Option<&[u8]>,
        id2: Option<&[u8]>,
    ) -> KResult<Serial>;
    /// `key_validate`: `EKEYREVOKED` for a revoked key.
    fn validate(&self, s: Serial) -> KResult<()>;
}

/// The object a `key_or_keyring:` restriction names.
#[derive(Clone, Copy, Debug)]
pub enum RestrictionKey<'a> {
    Keyring,
    Asymmetric(&'a AsymmetricKey),
    /// Any other key type (`EOPNOTSUPP` when consulted).
    Other,
}

/// A keyring restriction (the kernel's `struct key_restriction`: function + key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restriction {
    /// `restrict_link_reject`: `keyctl restrict_keyring RING` with no type.
    RejectAll,
    /// `restrict_link_by_builtin_trusted`.
    BuiltinTrusted,
    /// `restrict_link_by_builtin_and_secondary_trusted`.
    BuiltinAndSecondaryTrusted,
    /// `restrict_link_by_builtin_secondary_and_machine` (the secondary keyring's gate when
    /// the machine keyring exists).
    BuiltinSecondaryAndMachine,
    /// `restrict_link_by_digsig_builtin` (`.ima` default).
    DigsigBuiltin,
    /// `restrict_link_by_digsig_builtin_and_secondary` (`.ima` with
    /// IMA_KEYRINGS_PERMIT_SIGNED_BY_BUILTIN_OR_SECONDARY).
    DigsigBuiltinAndSecondary,
    /// `restrict_link_by_ca` (`.machine` with INTEGRITY_CA_MACHINE_KEYRING); `max` adds the
    /// _MAX rule (no digitalSignature).
    Ca { max: bool },
    /// `restrict_link_by_key_or_keyring[_chain]`; `anchor` `None` is serial 0 (chain only).
    KeyOrKeyring { anchor: Option<Serial>, chain: bool },
    /// `restrict_link_for_blacklist`: only blacklist-type keys.
    Blacklist,
}

/// What is being linked: the kernel passes the key type and payload.
#[derive(Clone, Copy, Debug)]
pub enum Candidate<'a> {
    Asymmetric(&'a AsymmetricKey),
    Keyring(Serial),
    /// A `blacklist`-type key.
    BlacklistHash,
}

impl Restriction {
    /// Parses the restriction string of `keyctl restrict_keyring RING asymmetric STRING`
    /// (asymmetric_lookup_restriction). `resolve` maps a key serial to a live object
    /// (`ENOKEY` if none).
    pub fn parse_asymmetric(
        s: &str,
        resolve: &dyn Fn(i32) -> KResult<Serial>,
    ) -> KResult<Restriction> {
        match s {
            "builtin_trusted" => return Ok(Restriction::BuiltinTrusted),
            "builtin_and_secondary_trusted" => return Ok(Restriction::BuiltinAndSecondaryTrusted),
            _ => {}
        }
        let mut parts = s.splitn(3, ':');
        let (Some("key_or_keyring"), Some(key_text)) = (parts.next(), parts.next()) else {
            return Err(Errno::EINVAL);
        };
        let chain = match parts.next() {
            None => false,
            Some("chain") => true,
            Some(_) => return Err(Errno::EINVAL),
        };
        let serial = parse_c_s32(key_text).ok_or(Errno::EINVAL)?;
        let anchor = if serial == 0 && chain {
            None
        } else {
            Some(resolve(serial)?)
        };
        Ok(Restriction::KeyOrKeyring { anchor, chain })
    }

    /// The restriction key, followed by the cycle check when a restriction is applied.
    pub fn key(&self) -> Option<Serial> {
        match self {
            Restriction::KeyOrKeyring { anchor, .. } => *anchor,
            _ => None,
        }
    }

    /// Runs the gatekeeper for `cand` being linked into `dest`.
    pub fn check<V: KeyringView + ?Sized>(
        &self,
        store: &V,
        dest: Serial,
        cand: Candidate<'_>,
    ) -> KResult<()> {
        let sys = store.system();
        match self {
            Restriction::RejectAll => Err(Errno::EPERM),
            Restriction::Blacklist => match cand {
                Candidate::BlacklistHash => Ok(()),
                _ => Err(Errno::EOPNOTSUPP),
            },
            Restriction::BuiltinTrusted => by_signature(store, dest, cand, Some(sys.builtin)),
            Restriction::BuiltinAndSecondaryTrusted => match sys.secondary {
                None => by_signature(store, dest, cand, Some(sys.builtin)),
                Some(_) if links_builtin_into_secondary(store, dest, cand) => Ok(()),
                Some(secondary) => by_signature(store, dest, cand, Some(secondary)),
            },
            Restriction::BuiltinSecondaryAndMachine => {
                if let (Some(machine), Some(secondary), Candidate::Keyring(k)) =
                    (sys.machine, sys.secondary, cand)
                {
                    if dest == secondary && k == machine {
                        return Ok(());
                    }
                }
                Restriction::BuiltinAndSecondaryTrusted.check(store, dest, cand)
            }
            Restriction::DigsigBuiltin => by_digsig(store, dest, cand, Some(sys.builtin)),
            Restriction::DigsigBuiltinAndSecondary => match sys.secondary {
                None => by_digsig(store, dest, cand, Some(sys.builtin)),
                Some(_) if links_builtin_into_secondary(store, dest, cand) => Ok(()),
                Some(secondary) => by_digsig(store, dest, cand, Some(secondary)),
            },
            Restriction::Ca { max } => {
                let Candidate::Asymmetric(k) = cand else {
                    return Err(Errno::EOPNOTSUPP);
                };
                if !k.flags.ca || !k.flags.key_cert_sign {
                    return Err(Errno::ENOKEY);
                }
                if *max && k.flags.digital_signature {
                    return Err(Errno::ENOKEY);
                }
                Ok(())
            }
            Restriction::KeyOrKeyring { anchor, chain } => {
                key_or_keyring(store, dest, cand, *anchor, *chain)
            }
        }
    }

    /// The `/proc/keys`-style name of the restriction, for `keyring show`.
    pub fn describe<V: KeyringView + ?Sized>(&self, store: &V) -> String {
        match self {
            Restriction::RejectAll => "reject".into(),
            Restriction::BuiltinTrusted => "builtin_trusted".into(),
            Restriction::BuiltinAndSecondaryTrusted => "builtin_and_secondary_trusted".into(),
            Restriction::BuiltinSecondaryAndMachine => "builtin_secondary_and_machine".into(),
            Restriction::DigsigBuiltin => "digsig_builtin".into(),
            Restriction::DigsigBuiltinAndSecondary => "digsig_builtin_and_secondary".into(),
            Restriction::Ca { max: false } => "ca".into(),
            Restriction::Ca { max: true } => "ca_max".into(),
            Restriction::Blacklist => "blacklist".into(),
            Restriction::KeyOrKeyring { anchor, chain } => {
                let a = anchor.map_or("0".to_string(), |s| {
                    format!("{s} ({})", store.description(s).unwrap_or_default())
                });
                format!("key_or_keyring:{a}{}", if *chain { ":chain" } else { "" })
            }
        }
    }
}

/// The one keyring link the `*_and_secondary` gates accept: the builtin keyring into the
/// secondary keyring (by identity, not by name).
fn links_builtin_into_secondary<V: KeyringView + ?Sized>(
    store: &V,
    dest: Serial,
    cand: Candidate<'_>,
) -> bool {
    let sys = store.system();
    matches!(cand, Candidate::Keyring(k) if k == sys.builtin && Some(dest) == sys.secondary)
}

/// `kstrtos32(s, 0, …)`: optional sign, `0x` hex, leading-0 octal, else decimal.
fn parse_c_s32(s: &str) -> Option<i32> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

/// §2.1 `restrict_link_by_signature`.
fn by_signature<V: KeyringView + ?Sized>(
    store: &V,
    dest: Serial,
    cand: Candidate<'_>,
    trust: Option<Serial>,
) -> KResult<()> {
    let Some(trust) = trust else {
        return Err(Errno::ENOKEY);
    };
    let Candidate::Asymmetric(k) = cand else {
        return Err(Errno::EOPNOTSUPP);
    };
    let Some(sig) = &k.auth else {
        return Err(Errno::ENOPKG);
    };
    let ids = &sig.auth_ids;
    if ids.all_absent() {
        return Err(Errno::ENOKEY);
    }
    let config = store.config();
    if let CaKeys::Id(want) = &config.ca_keys {
        match &ids.keyid {
            Some(kid) if kid.ends_with(want) => {}
            _ => return Err(Errno::EPERM),
        }
    }
    let signer = store
        .find_asymmetric_key(
            trust,
            ids.serial_issuer.as_deref(),
            ids.keyid.as_deref(),
            ids.issuer.as_deref(),
        )
        .map_err(|_| Errno::ENOKEY)?;
    let signer_builtin = store.is_builtin(signer);
    if config.ca_keys == CaKeys::Builtin && !signer_builtin {
        return Err(Errno::ENOKEY);
    }
    if config.secondary_signed_by_builtin
        && store.description(dest) == Some(".secondary_trusted_keys")
        && !signer_builtin
    {
        return Err(Errno::ENOKEY);
    }
    let key = store.asymmetric(signer).ok_or(Errno::EINVAL)?;
    key.public.verify(&sig.record(), store.profile())
}

/// §2.3 `restrict_link_by_digsig`.
fn by_digsig<V: KeyringView + ?Sized>(
    store: &V,
    dest: Serial,
    cand: Candidate<'_>,
    trust: Option<Serial>,
) -> KResult<()> {
    let Candidate::Asymmetric(k) = cand else {
        return Err(Errno::EOPNOTSUPP);
    };
    if !k.flags.digital_signature || k.flags.ca || k.flags.key_cert_sign {
        return Err(Errno::ENOKEY);
    }
    by_signature(store, dest, cand, trust)
}

/// §2.6 `key_or_keyring_common`.
fn key_or_keyring<V: KeyringView + ?Sized>(
    store: &V,
    dest: Serial,
    cand: Candidate<'_>,
    trusted: Option<Serial>,
    chain: bool,
) -> KResult<()> {
    if trusted.is_none() && !chain {
        return Err(Errno::ENOKEY);
    }
    let Candidate::Asymmetric(k) = cand else {
        return Err(Errno::EOPNOTSUPP);
    };
    let Some(sig) = &k.auth else {
        return Err(Errno::ENOPKG);
    };
    let ids = &sig.auth_ids;
    if ids.all_absent() {
        return Err(Errno::ENOKEY);
    }
    let (id0, id1, id2) = (
        ids.serial_issuer.as_deref(),
        ids.keyid.as_deref(),
        ids.issuer.as_deref(),
    );
    let mut signer = None;
    if let Some(t) = trusted {
        match store.restriction_key(t) {
            Some(RestrictionKey::Keyring) => {
                signer = store.find_asymmetric_key(t, id0, id1, id2).ok();
            }
            Some(RestrictionKey::Asymmetric(tk)) => {
                let s = &tk.ids;
                let s1 = s.skid.as_deref();
                let hit = match (id0, id1) {
                    (None, None) => id2 == Some(&*s.subject),
                    (Some(a), None) | (None, Some(a)) => a == &*s.id || Some(a) == s1,
                    (Some(a), Some(b)) => s1 == Some(b) && (a == &*s.id || Some(a) == s1),
                };
                if hit {
                    signer = Some(t);
                }
            }
            _ => return Err(Errno::EOPNOTSUPP),
        }
    }
    if chain && signer.is_none() {
        signer = store.find_asymmetric_key(dest, id0, id1, id2).ok();
    }
    let signer = signer.ok_or(Errno::ENOKEY)?;
    store.validate(signer)?;
    let key = store.asymmetric(signer).ok_or(Errno::EINVAL)?;
    key.public.verify(&sig.record(), store.profile())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_style_serials() {
        assert_eq!(parse_c_s32("0x10"), Some(16));
        assert_eq!(parse_c_s32("010"), Some(8));
        assert_eq!(parse_c_s32("-5"), Some(-5));
        assert_eq!(parse_c_s32("0"), Some(0));
        assert_eq!(parse_c_s32("abc"), None);
        assert_eq!(parse_c_s32("4294967296"), None);
    }

    #[test]
    fn restriction_strings() {
        let ok = |s: i32| if s == 7 { Ok(7) } else { Err(Errno::ENOKEY) };
        let p = |s| Restriction::parse_asymmetric(s, &ok);
        assert_eq!(p("builtin_trusted"), Ok(Restriction::BuiltinTrusted));
        assert_eq!(
            p("key_or_keyring:7:chain"),
            Ok(Restriction::KeyOrKeyring {
                anchor: Some(7),
                chain: true
            })
        );
        assert_eq!(
            p("key_or_keyring:0:chain"),
            Ok(Restriction::KeyOrKeyring {
                anchor: None,
                chain: true
            })
        );
        assert_eq!(p("key_or_keyring:0"), Err(Errno::ENOKEY));
        assert_eq!(p("key_or_keyring:7:other"), Err(Errno::EINVAL));
        assert_eq!(p("key_or_keyring"), Err(Errno::EINVAL));
        assert_eq!(p("nonsense"), Err(Errno::EINVAL));
        assert_eq!(p("key_or_keyring:zz"), Err(Errno::EINVAL));
    }
}

//! The kernel configuration that changes trust decisions: Kconfig choices
//! (SECONDARY_TRUSTED_KEYRING, INTEGRITY_MACHINE_KEYRING, `INTEGRITY_CA_MACHINE_KEYRING[_MAX]`,
//! IMA_KEYRINGS_PERMIT_SIGNED_BY_BUILTIN_OR_SECONDARY, IMA_BLACKLIST_KEYRING, …), the
//! `ca_keys=` boot parameter, and which system keyrings that configuration creates.
//!
//! Plain data with no behaviour of its own: the gatekeepers (`restrict.rs`) and the store
//! (`store.rs`) read it, so it sits below both.

use super::key::Serial;
use crate::hash::unhex;
use crate::kernel_profile::KernelProfile;

/// The `ca_keys=` boot parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CaKeys {
    #[default]
    Unset,
    /// `ca_keys=builtin`: only BUILTIN keys may vouch in `restrict_link_by_signature`.
    Builtin,
    /// `ca_keys=id:<hex>`: the candidate's AKID keyid must end with these bytes.
    Id(Vec<u8>),
}

/// Machine keyring admission (`INTEGRITY_CA_MACHINE_KEYRING[_MAX]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MachineCa {
    #[default]
    Off,
    Ca,
    CaMax,
}

/// The kernel configuration choices that change trust decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelConfig {
    /// SECONDARY_TRUSTED_KEYRING.
    pub secondary: bool,
    /// INTEGRITY_MACHINE_KEYRING (needs `secondary`): `.machine` exists and is linked into
    /// the secondary keyring.
    pub machine: bool,
    pub machine_ca: MachineCa,
    /// SECONDARY_TRUSTED_KEYRING_SIGNED_BY_BUILTIN.
    pub secondary_signed_by_builtin: bool,
    /// IMA_KEYRINGS_PERMIT_SIGNED_BY_BUILTIN_OR_SECONDARY.
    pub ima_permit_secondary: bool,
    /// IMA_BLACKLIST_KEYRING: `.ima_blacklist` exists and is consulted first.
    pub ima_blacklist: bool,
    pub ca_keys: CaKeys,
    /// The kernel release (and ML-DSA Kconfig) whose rules the model follows.
    pub kernel: KernelProfile,
}

impl Default for KernelConfig {
    /// The kernel's Kconfig defaults with the secondary and machine keyrings enabled, as
    /// distribution kernels ship them.
    fn default() -> Self {
        KernelConfig {
            secondary: true,
            machine: true,
            machine_ca: MachineCa::Off,
            secondary_signed_by_builtin: false,
            ima_permit_secondary: false,
            ima_blacklist: false,
            ca_keys: CaKeys::Unset,
            kernel: KernelProfile::default(),
        }
    }
}

/// Serials of the standard system keyrings.
#[derive(Clone, Copy, Debug)]
pub struct SystemKeyrings {
    pub builtin: Serial,
    pub secondary: Option<Serial>,
    pub machine: Option<Serial>,
    pub platform: Serial,
    pub ima: Serial,
    pub blacklist: Serial,
    pub ima_blacklist: Option<Serial>,
}

/// Decodes a `ca_keys=id:<hex>` value.
pub fn parse_ca_keys(v: &str) -> Option<CaKeys> {
    if v == "builtin" {
        return Some(CaKeys::Builtin);
    }
    let hex = v.strip_prefix("id:")?;
    let bytes = unhex(hex)?;
    (!bytes.is_empty() && bytes.len() <= 10).then_some(CaKeys::Id(bytes))
}

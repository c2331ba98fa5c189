//! The kernel trust model, without I/O: keys from X.509, keyrings with gatekeepers, the
//! blacklist, and the standard layered set of system keyrings.

pub mod blacklist;
pub mod config;
pub mod key;
pub mod keyring;
pub mod lookup;
pub mod restrict;
pub mod store;
pub mod x509;

pub use config::{CaKeys, KernelConfig, MachineCa, SystemKeyrings};
pub use key::{AsymmetricKey, Serial};
pub use restrict::Restriction;
pub use store::{AddMode, Store};

//! Building the trust store from command-line options, shared by every subcommand.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustbench::crypto::faulty;
use trustbench::crypto::{self, Backend, CryptoProfile};
use trustbench::kernel::replay;
use trustbench::kernel_profile::KernelProfile;
use trustbench::measure::MmapPolicy;
use trustbench::trust::store::{AddMode, KernelConfig, MachineCa, Store};
use trustbench::trust::x509;
use trustbench::Error;

/// `--mmap[=auto|BYTES]`: opt-in memory mapping of large files, the same on every command
/// that reads items.
#[derive(Args, Debug, Clone, Default)]
pub struct MmapArgs {
    /// Memory-map large files instead of reading them: `--mmap` (= `--mmap=auto`) from the
    /// size where mapping measured faster than reading on the corpus's large files (1 MiB
    /// when none were measured), `--mmap=BYTES` from that size. Off by default: every file
    /// is read, which has no failure mode a mapping has. A mapped file that shrinks while it
    /// is mapped gets the verdict of a short read (EIO for a module, EINVAL for an IMA
    /// file), never a crash: the engine absorbs the SIGBUS (README, "Reading files").
    #[arg(long, value_name = "auto|BYTES", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto", value_parser = parse_mmap)]
    pub mmap: Option<MmapPolicy>,
}

impl MmapArgs {
    /// The policy the option selects (off when it is absent).
    pub fn policy(&self) -> MmapPolicy {
        self.mmap.unwrap_or_default()
    }
}

/// `auto` or a byte count (at least 1).
fn parse_mmap(s: &str) -> Result<MmapPolicy, String> {
    match s {
        "auto" => Ok(MmapPolicy::Measured),
        n => match n.parse::<u64>() {
            Ok(b) if b > 0 => Ok(MmapPolicy::From(b)),
            _ => Err(format!(
                "'{n}': want `auto` or a size in bytes (at least 1)"
            )),
        },
    }
}

/// Machine keyring admission rule.
#[derive(Clone, Copy, Debug, ValueEnum, Default)]
pub enum MachineCaArg {
    /// No restriction (INTEGRITY_CA_MACHINE_KEYRING=n).
    #[default]
    Off,
    /// restrict_link_by_ca: CA + keyCertSign.
    Ca,
    /// restrict_link_by_ca with _MAX: additionally no digitalSignature.
    CaMax,
}

/// Trust anchors and kernel configuration.
#[derive(Args, Debug, Default, Clone)]
pub struct TrustArgs {
    /// Certificate (DER or PEM) loaded as the kernel loads compiled-in certificates: into
    /// .builtin_trusted_keys without a restriction check, and into .ima as the module
    /// signing certificate is copied there. Repeatable.
    #[arg(long = "trust", value_name = "CERT")]
    pub trust: Vec<PathBuf>,
    /// A keyring script (see `trustbench keyring replay --help`) run before verification,
    /// through the real gatekeepers, to build a layered system.
    #[arg(long = "keyring-setup", value_name = "SCRIPT")]
    pub keyring_setup: Option<PathBuf>,
    /// Algorithms the emulated kernel has: `full` (default), `kernel` (read this machine's
    /// /proc/crypto), or a list such as `rsa,sha1,sha256,p256`.
    #[arg(long = "crypto", value_name = "PROFILE", default_value = "full")]
    pub crypto: String,
    /// The kernel whose rules the verdicts follow: 6.18 (this machine's kernel: RSA and
    /// ECDSA; IMA v3 for fs-verity only), 7.2 (adds ML-DSA-44/65/87 for modules,
    /// certificates and IMA v3; SHA-256 `tbs:` blacklist hashes for every certificate; IMA
    /// v3 for regular files), or 7.2+waiver (7.2 with
    /// CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA: ML-DSA module signatures with
    /// signed attributes, as sign-file linked against OpenSSL 3.x writes them, are
    /// accepted). Recorded in every result. Example: `--kernel-profile 7.2`.
    #[arg(
        long = "kernel-profile",
        value_name = "VERSION",
        default_value = "6.18"
    )]
    pub kernel_profile: KernelProfile,
    /// IMA_KEYRINGS_PERMIT_SIGNED_BY_BUILTIN_OR_SECONDARY: .ima accepts keys vouched for by
    /// the secondary keyring too.
    #[arg(long)]
    pub ima_permit_secondary: bool,
    /// SECONDARY_TRUSTED_KEYRING_SIGNED_BY_BUILTIN.
    #[arg(long)]
    pub secondary_signed_by_builtin: bool,
    /// `INTEGRITY_CA_MACHINE_KEYRING[_MAX]`.
    #[arg(long, value_enum, default_value_t = MachineCaArg::Off)]
    pub machine_ca: MachineCaArg,
    /// IMA_BLACKLIST_KEYRING: create .ima_blacklist and consult it first.
    #[arg(long)]
    pub ima_blacklist_keyring: bool,
    /// The crypto backend that does the arithmetic under the kernel's rules: mb
    /// (multi-buffer RSA on AVX-512 IFMA, batches of eight; the default where the CPU has
    /// IFMA), aws-lc (the default elsewhere), ring, rustcrypto, openssl or kernel (this
    /// machine's kernel, through keyctl), as compiled in. Verifications a backend cannot
    /// do are reported ENOPKG.
    #[arg(long = "backend", value_name = "NAME")]
    pub backend: Option<String>,
}

impl TrustArgs {
    pub fn config(&self) -> KernelConfig {
        KernelConfig {
            ima_permit_secondary: self.ima_permit_secondary,
            secondary_signed_by_builtin: self.secondary_signed_by_builtin,
            machine_ca: match self.machine_ca {
                MachineCaArg::Off => MachineCa::Off,
                MachineCaArg::Ca => MachineCa::Ca,
                MachineCaArg::CaMax => MachineCa::CaMax,
            },
            ima_blacklist: self.ima_blacklist_keyring,
            kernel: self.kernel_profile,
            ..KernelConfig::default()
        }
    }

    pub fn profile(&self) -> Result<CryptoProfile, Error> {
        CryptoProfile::parse(&self.crypto)
    }

    /// The backend `--backend` names (the default one when it names none). The
    /// deliberately wrong test backend is found by name only under its hidden switch.
    pub fn backend(&self) -> Result<Arc<dyn Backend>, Error> {
        match &self.backend {
            None => Ok(crypto::default_backend()),
            Some(name) if name == faulty::NAME && faulty::enabled() => {
                Ok(super::backends::faulty_backend())
            }
            Some(name) => crypto::backends::by_name(name).map_err(|e| Error::usage(e.to_string())),
        }
    }

    /// Builds the store with the `--backend` one: standard keyrings, `--trust`
    /// certificates, then the setup script.
    pub fn build(&self) -> Result<Store, Error> {
        self.build_with(self.backend()?)
    }

    /// [`TrustArgs::build`] with `backend` instead of the one `--backend` names (a command
    /// that compares backends builds one store per backend from the same options).
    pub fn build_with(&self, backend: Arc<dyn Backend>) -> Result<Store, Error> {
        let mut store = Store::new(self.config(), self.profile()?, backend);
        for path in &self.trust {
            load_trust(&mut store, path)?;
        }
        if let Some(script) = &self.keyring_setup {
            run_setup(&mut store, script)?;
        }
        Ok(store)
    }
}

/// Reads a certificate file given on the command line: DER as is, PEM decoded.
pub fn read_cert(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(b"-----BEGIN") {
        return x509::pem_to_der(&bytes).ok_or_else(|| Error::Input {
            path: path.to_path_buf(),
            message: "no CERTIFICATE in PEM file".into(),
        });
    }
    Ok(bytes)
}

fn load_trust(store: &mut Store, path: &Path) -> Result<(), Error> {
    let der = read_cert(path)?;
    let sys = store.system();
    store
        .add_cert(sys.builtin, &der, AddMode::Bypass)
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot load as a built-in key: {e}"),
        })?;
    store
        .add_cert(sys.ima, &der, AddMode::Bypass)
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot load into .ima: {e}"),
        })?;
    Ok(())
}

fn run_setup(store: &mut Store, script: &Path) -> Result<(), Error> {
    let lines = replay::read_script(script)?;
    let mut runner = replay::ModelRunner::new(store);
    for l in &lines {
        if let replay::Outcome::Err(e) = runner.run(l)? {
            eprintln!(
                "trustbench: {}:{}: '{}' failed with {e} (continuing, as the kernel would)",
                script.display(),
                l.number,
                l.text
            );
        }
    }
    Ok(())
}

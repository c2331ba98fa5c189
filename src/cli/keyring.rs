//! `trustbench keyring …`: replay scripts (model, or model beside the live kernel), show
//! the layered set, verify a raw signature with one key.

use super::setup::{read_cert, TrustArgs};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::crypto::{self, CryptoProfile, PkeyAlgo, SignatureRecord};
use trustbench::hash::{Digest, HashAlgo};
use trustbench::kernel::replay::{self, Outcome};
use trustbench::trust::store::{Payload, Store};
use trustbench::{kernel, Errno, Error};

#[derive(Subcommand, Debug)]
pub enum KeyringCmd {
    /// Replay a keyctl-like script against the model (and with --kernel, against this
    /// machine's kernel in a fresh session keyring, side by side).
    ///
    /// Script lines ('#' starts a comment; FILE paths are relative to the script):
    ///   newring NAME                   create a keyring (keyctl newring NAME @s)
    ///   restrict RING RESTRICTION      keyctl restrict_keyring RING asymmetric RESTRICTION,
    ///                                  RESTRICTION = builtin_trusted |
    ///                                  builtin_and_secondary_trusted | key_or_keyring:REF |
    ///                                  key_or_keyring:REF:chain   (REF = a NAME, or 0)
    ///   restrict RING reject           reject-all restriction (no type)
    ///   add KEY RING FILE              keyctl padd asymmetric "" RING < FILE
    ///   load KEY RING FILE             boot-time kernel load: no permission check, no
    ///                                  restriction check (except .machine, whose MOK
    ///                                  loader does not bypass its CA gate)
    ///   link REF RING | unlink KEY RING | clear RING | revoke KEY | invalidate KEY
    ///   blacklist tbs:HEX|bin:HEX      boot-time .blacklist entry (model only)
    /// The system keyrings exist from the start under their kernel names
    /// (.builtin_trusted_keys, .secondary_trusted_keys, .machine, .platform, .ima,
    /// .blacklist) with their default restrictions. Lines touching them are model-only
    /// under --kernel (shown as skipped), as is `load` into a restricted keyring.
    /// Possession is modelled as the kernel does it: a key the session no longer reaches
    /// (every link gone, or held only by a restriction) answers revoke, link and
    /// invalidate with EACCES; revoking a keyring empties it; an invalidated key is
    /// ENOKEY at once and linked nowhere.
    ///
    /// Exit status: 0 when the script ran (and, with --kernel, every compared line agrees),
    /// 1 on a disagreement, 2 on usage or I/O errors.
    Replay(ReplayArgs),
    /// Print the layered keyring set as /proc/keys would, after --trust and --keyring-setup.
    Show(ShowArgs),
    /// Verify a raw signature over a digest with one certificate's key, as
    /// `keyctl pkey_verify KEY 0 DIGEST SIG enc=… hash=HASH` does.
    PkeyVerify(PkeyArgs),
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Also run the script against the live kernel and compare line by line.
    #[arg(long)]
    pub kernel: bool,
    /// One JSON object per command line.
    #[arg(long)]
    pub json: bool,
    /// Algorithms the model emulates: `full`, `kernel` (/proc/crypto) or a list. Defaults
    /// to `kernel` with --kernel (like for like), else `full`.
    #[arg(long, value_name = "PROFILE")]
    pub crypto: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    pub script: PathBuf,
}

/// Kernel configuration flags for scripts (the same as verify's, without trust anchors).
#[derive(Args, Debug, Default)]
pub struct ConfigArgs {
    #[arg(long)]
    pub ima_permit_secondary: bool,
    #[arg(long)]
    pub secondary_signed_by_builtin: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Args, Debug)]
pub struct PkeyArgs {
    /// The key's certificate (DER).
    pub cert: PathBuf,
    /// File holding the raw digest.
    pub digest: PathBuf,
    /// File holding the signature.
    pub signature: PathBuf,
    /// Hash name (sha256, sha384, …).
    #[arg(long, default_value = "sha256")]
    pub hash: String,
    /// Algorithms the model emulates (see replay --crypto).
    #[arg(long, default_value = "full")]
    pub crypto: String,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: KeyringCmd) -> Result<ExitCode, Error> {
    match cmd {
        KeyringCmd::Replay(a) => replay_cmd(a),
        KeyringCmd::Show(a) => show(a),
        KeyringCmd::PkeyVerify(a) => pkey_verify(a),
    }
}

fn outcome_parts(o: Outcome) -> (&'static str, Option<String>) {
    match o {
        Outcome::Ok => ("ok", None),
        Outcome::Err(e) => ("error", Some(e.to_string())),
        Outcome::Skipped => ("skipped", None),
    }
}

fn show_outcome(o: Outcome) -> String {
    match o {
        Outcome::Ok => "ok".into(),
        Outcome::Err(e) => e.to_string(),
        Outcome::Skipped => "skipped".into(),
    }
}

fn replay_cmd(a: ReplayArgs) -> Result<ExitCode, Error> {
    let lines = replay::read_script(&a.script)?;
    let profile_spec = a.crypto.clone().unwrap_or_else(|| {
        if a.kernel {
            "kernel".into()
        } else {
            "full".into()
        }
    });
    let profile = CryptoProfile::parse(&profile_spec)?;
    let config = trustbench::trust::KernelConfig {
        ima_permit_secondary: a.config.ima_permit_secondary,
        secondary_signed_by_builtin: a.config.secondary_signed_by_builtin,
        ..Default::default()
    };
    let mut store = Store::new(config, profile, crypto::default_backend());
    let mut model = replay::ModelRunner::new(&mut store);
    let mut kern = if a.kernel {
        if !kernel::available() {
            return Err(Error::usage(
                "the live kernel refused a private session keyring (keyctl)",
            ));
        }
        Some(replay::KernelRunner::new().map_err(|errno| Error::Kernel {
            op: "join session keyring",
            errno,
        })?)
    } else {
        None
    };
    let (mut compared, mut disagree) = (0usize, 0usize);
    if !a.json {
        match kern {
            Some(_) => println!("line  model          kernel         command"),
            None => println!("line  model          command"),
        }
    }
    for l in &lines {
        let m = model.run(l)?;
        let k = match kern.as_mut() {
            Some(k) => Some(k.run(l)?),
            None => None,
        };
        let agree = match k {
            None | Some(Outcome::Skipped) => None,
            Some(k) => Some(k == m),
        };
        if agree.is_some() {
            compared += 1;
        }
        if agree == Some(false) {
            disagree += 1;
        }
        if a.json {
            let (r, e) = outcome_parts(m);
            let mut o = json!({"line": l.number, "command": l.text, "result": r, "errno": e});
            if let Some(k) = k {
                let (kr, ke) = outcome_parts(k);
                o["kernel_result"] = json!(kr);
                o["kernel_errno"] = json!(ke);
                o["agree"] = json!(agree);
            }
            println!("{o}");
        } else {
            match k {
                Some(k) => println!(
                    "{:>4}  {:<14} {:<14} {}{}",
                    l.number,
                    show_outcome(m),
                    show_outcome(k),
                    l.text,
                    if agree == Some(false) {
                        "   <-- DISAGREE"
                    } else {
                        ""
                    }
                ),
                None => println!("{:>4}  {:<14} {}", l.number, show_outcome(m), l.text),
            }
        }
    }
    if kern.is_some() {
        eprintln!(
            "trustbench: {compared} lines compared with the live kernel, {disagree} disagreements (model crypto: {})",
            profile.describe()
        );
    }
    Ok(if disagree == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn show(a: ShowArgs) -> Result<ExitCode, Error> {
    let store = a.trust.build()?;
    for s in store.serials() {
        let Some(o) = store.object(s) else { continue };
        let flags = if o.is_revoked() { "I--QR--" } else { "I--Q---" };
        match &o.payload {
            Payload::Keyring(k) => {
                let r = k
                    .restriction
                    .as_ref()
                    .map(|r| format!(" [restrict: {}]", r.describe(&store)))
                    .unwrap_or_default();
                println!(
                    "{s:08x} {flags}     1 perm 1f0b0000     0     0 keyring   {}: {}{r}",
                    o.description,
                    k.len()
                );
            }
            Payload::Asymmetric(k) => println!(
                "{s:08x} {flags}     1 perm 1f030000     0     0 asymmetri {}: {}{}",
                o.description,
                k.proc_keys_suffix(),
                if o.builtin { " (builtin)" } else { "" }
            ),
            Payload::BlacklistHash { .. } => println!(
                "{s:08x} {flags}     1 perm 1f010000     0     0 blacklist {}",
                o.description
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pkey_verify(a: PkeyArgs) -> Result<ExitCode, Error> {
    let profile = CryptoProfile::parse(&a.crypto)?;
    let store = Store::new(Default::default(), profile, crypto::default_backend());
    let der = read_cert(&a.cert)?;
    let digest = std::fs::read(&a.digest).map_err(|e| Error::io(&a.digest, e))?;
    let sig = std::fs::read(&a.signature).map_err(|e| Error::io(&a.signature, e))?;
    let hash = HashAlgo::from_name(&a.hash)
        .ok_or_else(|| Error::usage(format!("unknown hash '{}'", a.hash)))?;
    let result = store.parse_cert(&der).and_then(|c| {
        let d = Digest::new(hash, &digest)?;
        // keyctl_pkey_verify copies the signature into a zeroed buffer of the key's
        // maximum signature size and verifies that whole buffer, so a short RSA signature
        // is right-padded with zeros (checked against the live kernel).
        let mut sig = sig.clone();
        let max = c.key.public.bits().div_ceil(8);
        if c.key.public.algo() == PkeyAlgo::Rsa && sig.len() < max {
            sig.resize(max, 0);
        }
        let encoding = c.key.public.algo().native_encoding();
        // keyctl pkey_verify is given a digest, never the data.
        c.key.public.verify(
            &SignatureRecord::over_digest(None, encoding, d, &sig),
            &profile,
        )
    });
    let errno: Option<Errno> = result.err();
    if a.json {
        println!(
            "{}",
            json!({"result": if errno.is_none() {"ok"} else {"error"}, "errno": errno.map(|e| e.to_string())})
        );
    } else {
        println!("{}", errno.map_or("ok".to_string(), |e| e.to_string()));
    }
    Ok(if errno.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! The link-time phase: building the corpus's keyrings by linking every certificate through
//! its real gatekeeper, timed as its own phase.

use super::calibrate::class_of;
use crate::error::{Error, Result};
use crate::kernel::replay::{self, Command, Outcome};
use crate::trust::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Results of the link-time phase.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct LinkPhase {
    pub commands: usize,
    pub ok: usize,
    pub errors: BTreeMap<String, usize>,
    /// Lines whose outcome differs from `keyring.expected`.
    pub unexpected: Vec<String>,
    /// Lines whose outcome differs from `keyring.expected` once a gatekeeper refused a key
    /// the backend could not verify ([`Store::unsupported_admissions`]: an ML-DSA chain
    /// under a backend without ML-DSA): not findings, the backend lacks the crypto.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Adds and links judged by a gatekeeper.
    pub checks: usize,
    pub check_seconds: f64,
    pub checks_per_s: f64,
    /// Raw cost of the checks' signature verifications (pre-parsed issuer key), seconds.
    pub raw_verify_seconds: f64,
    /// raw verify time ÷ check time: the share of a check that is the signature itself.
    pub efficiency: f64,
    pub seconds: f64,
}

/// Replays `script` into `store`, comparing with `expected` (one outcome per command).
pub fn run(store: &mut Store, script: &Path, expected: Option<&str>) -> Result<LinkPhase> {
    let lines = replay::read_script(script)?;
    // Read certificates up front so file I/O is not charged to the checks.
    let mut files: BTreeMap<std::path::PathBuf, Vec<u8>> = BTreeMap::new();
    for l in &lines {
        if let Command::Add { file, .. } | Command::Load { file, .. } = &l.command {
            let b = std::fs::read(file).map_err(|e| Error::io(file, e))?;
            files.insert(file.clone(), b);
        }
    }
    let exp: Vec<&str> = expected.map(|e| e.lines().collect()).unwrap_or_default();
    let mut r = LinkPhase {
        commands: lines.len(),
        ..Default::default()
    };
    let mut checked_keys = Vec::new();
    let t_all = Instant::now();
    let mut check_time = Duration::ZERO;
    {
        let mut runner = replay::ModelRunner::new(store);
        for (i, l) in lines.iter().enumerate() {
            let gated = matches!(&l.command, Command::Add { ring, .. } | Command::Link { ring, .. }
                if runner.store.restriction_of(runner.lookup_serial(ring).unwrap_or(0)).is_some());
            let t = Instant::now();
            let out = match &l.command {
                Command::Add { key, ring, file } => {
                    runner.add_bytes(key, ring, &files[file], false)
                }
                Command::Load { key, ring, file } => {
                    runner.add_bytes(key, ring, &files[file], true)
                }
                _ => runner.run(l)?,
            };
            let el = t.elapsed();
            if gated {
                r.checks += 1;
                check_time += el;
                if let (Outcome::Ok, Command::Add { key, .. }) = (out, &l.command) {
                    if let Ok(s) = runner.lookup_serial(key) {
                        checked_keys.push(s);
                    }
                }
            }
            let got = match out {
                Outcome::Ok => {
                    r.ok += 1;
                    "ok".to_string()
                }
                Outcome::Err(e) => {
                    let name = e.to_string();
                    *r.errors.entry(name.clone()).or_default() += 1;
                    name
                }
                Outcome::Skipped => "skipped".into(),
            };
            if let Some(want) = exp.get(i) {
                if *want != got {
                    let line = format!(
                        "line {}: '{}': expected {want}, got {got}",
                        l.number, l.text
                    );
                    if runner.store.unsupported_admissions() > 0 {
                        r.unsupported.push(line);
                    } else {
                        r.unexpected.push(line);
                    }
                }
            }
        }
    }
    r.seconds = t_all.elapsed().as_secs_f64();
    r.check_seconds = check_time.as_secs_f64();
    r.checks_per_s = r.checks as f64 / r.check_seconds.max(1e-9);
    r.raw_verify_seconds = raw_verify_seconds(store, &checked_keys);
    r.efficiency = r.raw_verify_seconds / r.check_seconds.max(1e-9);
    Ok(r)
}

/// Σ over admitted keys of one raw verification of their certificate signature with the
/// issuer's pre-parsed key (cost per class measured once).
fn raw_verify_seconds(store: &Store, keys: &[crate::trust::Serial]) -> f64 {
    let sys = store.system();
    let trust = sys.secondary.unwrap_or(sys.builtin);
    let mut per_class: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for &k in keys {
        let Some(key) = store.asymmetric(k) else {
            continue;
        };
        let Some(sig) = &key.auth else { continue };
        let ids = &sig.auth_ids;
        let issuer = store
            .find_asymmetric_key(
                trust,
                ids.serial_issuer.as_deref(),
                ids.keyid.as_deref(),
                ids.issuer.as_deref(),
            )
            .or_else(|_| {
                store.find_asymmetric_key(
                    sys.builtin,
                    ids.serial_issuer.as_deref(),
                    ids.keyid.as_deref(),
                    ids.issuer.as_deref(),
                )
            });
        let Ok(issuer) = issuer else { continue };
        let Some(ik) = store.asymmetric(issuer) else {
            continue;
        };
        let Some(class) = class_of(store, issuer, sig.hash) else {
            continue;
        };
        let ns = *per_class.entry(class).or_insert_with(|| {
            let rec = sig.record();
            let t = Instant::now();
            let mut n = 0u32;
            while t.elapsed() < Duration::from_millis(30) || n < 3 {
                let _ = ik.public.verify(&rec, store.profile());
                n += 1;
            }
            t.elapsed().as_nanos() as f64 / n as f64
        });
        total += ns;
    }
    total / 1e9
}

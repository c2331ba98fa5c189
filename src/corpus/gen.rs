//! `trustbench gen`: builds a corpus directory from a spec and a seed.
//!
//! Layout: `certs/*.der`, `keyring.script` (the hierarchy, admitted through the real
//! gatekeepers at run time) with `keyring.expected` (one expected outcome per command),
//! `modules/*.ko`, `files/*.bin` with `.sig` sidecars, `manifest.tsv` (expected verdict and
//! errno per item), `spec.toml`, and `COMPLETE` written last.

use super::bad::BadClass;
use super::keys::{self, KeyAlgo};
use super::manifest::{self, Expected, Form};
use super::pki::{self, CertRequest, Issued, Role};
use super::sign::{self, Pkcs7Quirks, SignerIdKind};
use super::spec::{pick, Spec};
use crate::errno::Errno;
use crate::error::Error;
use crate::formats::modsig;
use crate::hash::{Digest, HashAlgo};
use crate::verify::ItemKind;
use rand_core::RngCore;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Generation summary: what `gen` reports when it is done.
#[derive(Debug, Default)]
pub struct Summary {
    /// Modules written.
    pub modules: usize,
    /// IMA files written.
    pub files: usize,
    /// Items of any bad class, modules and files together.
    pub bad: usize,
    /// Certificates issued.
    pub certs: usize,
    /// Bytes of module and file content written (signatures included, sidecars not).
    pub bytes: u64,
}

struct Hierarchy {
    root: Issued,
    /// Module signing certificates: (key index, issuer name) → cert.
    module_certs: Vec<Issued>,
    ima_certs: Vec<Issued>,
    unknown: Issued,
    revoked_mod: Issued,
    revoked_ima: Issued,
    blacklisted_mod: Issued,
    blacklisted_ima: Issued,
    collide_second: Issued,
    script: String,
    expected: String,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn create_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

/// `hash` of `data`; a hash the library cannot compute is an [`Error::Input`] naming the
/// item (`path`) being made.
fn hash_of(hash: HashAlgo, data: &[u8], path: &Path) -> Result<Digest, Error> {
    hash.digest(data).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        message: format!("{hash}: {e}"),
    })
}

/// Generates keys in parallel (RSA key generation dominates hierarchy set-up): one PKCS#8
/// key and its algorithm per request, in request order.
fn gen_keys(seed: u64, reqs: &[(String, KeyAlgo)]) -> Result<Vec<(Vec<u8>, KeyAlgo)>, Error> {
    reqs.par_iter()
        .map(|(label, algo)| Ok((pki::key(seed, label, *algo)?, *algo)))
        .collect()
}

fn build_hierarchy(spec: &Spec, dir: &Path) -> Result<Hierarchy, Error> {
    let seed = spec.seed;
    let k = &spec.keys;
    let issuers: Vec<&str> = ["root", "secondary", "machine"]
        .into_iter()
        .filter(|i| spec.modules.issuers.get(*i).copied().unwrap_or(0) > 0)
        .collect();
    // Every key the hierarchy needs, generated in parallel. `want` returns the key's
    // handle: its index in `reqs`, and so in `keys`. A key is derived from its label alone
    // (`key/LABEL`), never from its position.
    let mut reqs: Vec<(String, KeyAlgo)> = Vec::new();
    let mut want = |label: String, algo: KeyAlgo| {
        reqs.push((label, algo));
        reqs.len() - 1
    };
    let root_key = want("root".into(), k.root);
    let secondary_key = want("secondary-ca".into(), k.secondary_ca);
    let machine_key = want("machine-ca".into(), k.machine_ca);
    let unknown_key = want("unknown".into(), KeyAlgo::Rsa(2048));
    let revoked_key = want("revoked".into(), KeyAlgo::Rsa(2048));
    let blacklisted_key = want("blacklisted".into(), KeyAlgo::Rsa(2048));
    let collide_first_key = want("collide-first".into(), KeyAlgo::Rsa(3072));
    let collide_second_key = want("collide-second".into(), KeyAlgo::Rsa(2048));
    let modsign_keys: Vec<usize> = k
        .module_signers
        .iter()
        .enumerate()
        .map(|(i, a)| want(format!("modsign{i}"), *a))
        .collect();
    let imasign_keys: Vec<usize> = k
        .ima_signers
        .iter()
        .enumerate()
        .map(|(i, a)| want(format!("imasign{i}"), *a))
        .collect();
    // At least one pool key, so `i % pool_keys.len()` below never divides by zero.
    let pool_keys: Vec<usize> = (0..k.extra_key_pool.max(1))
        .map(|i| want(format!("pool{i}"), k.extra_key_algo))
        .collect();
    let keys = gen_keys(seed, &reqs)?;
    // In range: every handle came from `want`, and `gen_keys` returns one key per request.
    let key_of = |handle: usize| -> (&[u8], KeyAlgo) { (&keys[handle].0, keys[handle].1) };

    let certs = dir.join("certs");
    create_dir(&certs)?;
    let serial = std::cell::Cell::new(0x1000u64);
    let next = |c: &std::cell::Cell<u64>| {
        c.set(c.get() + 1);
        c.get()
    };
    let mut script =
        String::from("# trustbench generated keyring: admitted through the kernel gatekeepers\n");
    let mut expected = String::new();
    let mut emit = |script: &mut String, line: String, outcome: &str| {
        let _ = writeln!(script, "{line}");
        let _ = writeln!(expected, "{outcome}");
    };
    let make = |name: &str, cn: &str, role: Role, key: usize, issuer: Option<&Issued>| {
        let (pk, algo) = key_of(key);
        let c = pki::issue(CertRequest {
            name,
            cn,
            role,
            serial: next(&serial),
            skid: None,
            pkcs8: pk,
            algo,
            issuer,
        })?;
        write(&certs.join(format!("{name}.der")), &c.der)?;
        Ok::<Issued, Error>(c)
    };

    let root = make(
        "root",
        "trustbench builtin root CA",
        Role::Ca,
        root_key,
        None,
    )?;
    emit(
        &mut script,
        "load root .builtin_trusted_keys certs/root.der".into(),
        "ok",
    );
    let secondary = make(
        "secondary-ca",
        "trustbench secondary CA",
        Role::Ca,
        secondary_key,
        Some(&root),
    )?;
    emit(
        &mut script,
        "add secondary-ca .secondary_trusted_keys certs/secondary-ca.der".into(),
        "ok",
    );
    let machine = make(
        "machine-ca",
        "trustbench machine owner CA",
        Role::Ca,
        machine_key,
        None,
    )?;
    emit(
        &mut script,
        "load machine-ca .machine certs/machine-ca.der".into(),
        "ok",
    );

    let mut module_certs = Vec::new();
    for (i, &key) in modsign_keys.iter().enumerate() {
        for iss in &issuers {
            let issuer = match *iss {
                "root" => &root,
                "secondary" => &secondary,
                _ => &machine,
            };
            let name = format!("modsign{i}-{iss}");
            let c = make(
                &name,
                &format!("trustbench module signer {i} ({iss})"),
                Role::Signer,
                key,
                Some(issuer),
            )?;
            emit(
                &mut script,
                format!("add {name} .secondary_trusted_keys certs/{name}.der"),
                "ok",
            );
            module_certs.push(c);
        }
    }
    let mut ima_certs = Vec::new();
    for (i, &key) in imasign_keys.iter().enumerate() {
        let name = format!("imasign{i}");
        let c = make(
            &name,
            &format!("trustbench IMA signer {i}"),
            Role::Signer,
            key,
            Some(&root),
        )?;
        emit(
            &mut script,
            format!("add {name} .ima certs/{name}.der"),
            "ok",
        );
        ima_certs.push(c);
    }
    // Link-time load: many `.ima` certificates issued by the root, keys from a pool.
    if k.ima_extra_certs > 0 {
        let extra_dir = certs.join("extra");
        create_dir(&extra_dir)?;
        // A separate serial and keyid range, so parallel issuance needs no shared counter.
        let base_serial = 0x0100_0000u64;
        let base_tail = 0x7c00_0000u32;
        let made: Result<Vec<()>, Error> = (0..k.ima_extra_certs)
            .into_par_iter()
            .map(|i| {
                let name = format!("ima-extra-{i}");
                let (pk, algo) = key_of(pool_keys[i % pool_keys.len()]);
                let c = pki::issue(CertRequest {
                    name: &name,
                    cn: &format!("trustbench IMA extra {i}"),
                    role: Role::Signer,
                    serial: base_serial + 1 + i as u64,
                    skid: Some(pki::skid(seed, &name, base_tail + 1 + i as u32)),
                    pkcs8: pk,
                    algo,
                    issuer: Some(&root),
                })?;
                write(&extra_dir.join(format!("{name}.der")), &c.der)
            })
            .collect();
        made?;
        for i in 0..k.ima_extra_certs {
            emit(
                &mut script,
                format!("add ima-extra-{i} .ima certs/extra/ima-extra-{i}.der"),
                "ok",
            );
        }
    }

    // Keys for the bad classes.
    let unknown = make(
        "unknown",
        "trustbench unknown signer",
        Role::Signer,
        unknown_key,
        None,
    )?;
    let revoked_mod = make(
        "revoked-mod",
        "trustbench revoked module signer",
        Role::Signer,
        revoked_key,
        Some(&root),
    )?;
    emit(
        &mut script,
        "add revoked-mod .secondary_trusted_keys certs/revoked-mod.der".into(),
        "ok",
    );
    emit(&mut script, "revoke revoked-mod".into(), "ok");
    let revoked_ima = make(
        "revoked-ima",
        "trustbench revoked IMA signer",
        Role::Signer,
        revoked_key,
        Some(&root),
    )?;
    emit(
        &mut script,
        "add revoked-ima .ima certs/revoked-ima.der".into(),
        "ok",
    );
    emit(&mut script, "revoke revoked-ima".into(), "ok");
    let blacklisted_mod = make(
        "blacklisted-mod",
        "trustbench blacklisted module signer",
        Role::Signer,
        blacklisted_key,
        Some(&root),
    )?;
    let blacklisted_ima = make(
        "blacklisted-ima",
        "trustbench blacklisted IMA signer",
        Role::Signer,
        blacklisted_key,
        Some(&root),
    )?;
    for c in [&blacklisted_mod, &blacklisted_ima] {
        let path = certs.join(format!("{}.der", c.name));
        let (_, x) = x509_parser::parse_x509_certificate(&c.der).map_err(|e| Error::Input {
            path: path.clone(),
            message: format!("re-parse: {e}"),
        })?;
        let tbs = hash_of(HashAlgo::Sha256, x.tbs_certificate.as_ref(), &path)?;
        emit(&mut script, format!("blacklist tbs:{}", tbs.hex()), "ok");
    }
    emit(
        &mut script,
        "add blacklisted-mod .secondary_trusted_keys certs/blacklisted-mod.der".into(),
        "EKEYREJECTED",
    );
    emit(
        &mut script,
        "add blacklisted-ima .ima certs/blacklisted-ima.der".into(),
        "EKEYREJECTED",
    );
    // Keyid collision: an RSA-3072 key linked first with the same 32-bit keyid as the
    // RSA-2048 key that signs the colliding files; first match wins and fails (EINVAL:
    // signature length differs from the modulus length).
    let (pk, algo) = key_of(collide_second_key);
    let collide_second = pki::issue(CertRequest {
        name: "collide-second",
        cn: "trustbench colliding keyid (second)",
        role: Role::Signer,
        serial: next(&serial),
        skid: None,
        pkcs8: pk,
        algo,
        issuer: Some(&root),
    })?;
    let collide_second_path = certs.join("collide-second.der");
    write(&collide_second_path, &collide_second.der)?;
    let collide_tail =
        sign::ima_keyid(&collide_second.signer.skid).ok_or_else(|| Error::Input {
            path: collide_second_path,
            message: "SKID shorter than 4 bytes".into(),
        })?;
    let (pk, algo) = key_of(collide_first_key);
    let first = pki::issue(CertRequest {
        name: "collide-first",
        cn: "trustbench colliding keyid (first)",
        role: Role::Signer,
        serial: next(&serial),
        skid: Some(pki::skid(seed, "collide-first", collide_tail)),
        pkcs8: pk,
        algo,
        issuer: Some(&root),
    })?;
    write(&certs.join("collide-first.der"), &first.der)?;
    emit(
        &mut script,
        "add collide-first .ima certs/collide-first.der".into(),
        "ok",
    );
    emit(
        &mut script,
        "add collide-second .ima certs/collide-second.der".into(),
        "ok",
    );

    Ok(Hierarchy {
        root,
        module_certs,
        ima_certs,
        unknown,
        revoked_mod,
        revoked_ima,
        blacklisted_mod,
        blacklisted_ima,
        collide_second,
        script,
        expected,
    })
}

fn uniform(r: &mut impl RngCore) -> f64 {
    (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Picks the bad class (or `None` for a good item) deterministically.
fn choose_class(r: &mut impl RngCore, percent: f64, classes: &[BadClass]) -> Option<BadClass> {
    let u = uniform(r);
    if classes.is_empty() || u * 100.0 >= percent {
        return None;
    }
    Some(classes[(r.next_u64() % classes.len() as u64) as usize])
}

/// Generates the corpus into `dir` (created; an earlier corpus there is replaced).
///
/// The spec is checked first ([`Spec::plan`]), so an invalid one writes nothing; its
/// errors name it `spec 'NAME'` (a spec from [`Spec::parse`] was already checked there,
/// naming its file). Files that cannot be written are [`Error::Io`]; keys, certificates
/// and signatures the libraries fail to make are [`Error::Input`] naming the key,
/// certificate or item.
pub fn generate(
    spec: &Spec,
    spec_text: &str,
    dir: &Path,
    progress: bool,
) -> Result<Summary, Error> {
    let origin = PathBuf::from(format!("spec '{}'", spec.name));
    let plan = spec.plan(&origin)?;
    prepare_dir(dir)?;
    create_dir(&dir.join("modules"))?;
    create_dir(&dir.join("files"))?;
    let _ = std::fs::remove_file(dir.join("COMPLETE"));
    let h = build_hierarchy(spec, dir)?;
    let seed = spec.seed;
    let (mod_sizes, file_sizes) = (&plan.module_sizes, &plan.file_sizes);
    let (mod_hashes, file_hashes) = (&plan.module_hashes, &plan.file_hashes);
    let (mod_classes, file_classes) = (&plan.module_classes, &plan.file_classes);
    let issuer_weights: Vec<(usize, u32)> = ["root", "secondary", "machine"]
        .iter()
        .filter_map(|i| spec.modules.issuers.get(*i).copied())
        .filter(|w| *w > 0)
        .enumerate()
        .collect();
    let n_issuers = issuer_weights.len().max(1);

    let total = (spec.modules.count + spec.files.count) as u64;
    let bar = if progress {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message("generating");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let bytes = AtomicU64::new(0);
    let forms = spec.records_forms();
    let attrs_percent = u64::from(spec.modules.mldsa_authattrs_percent);
    let ima_version = spec.files.ima_version;

    let modules: Result<Vec<Expected>, Error> = (0..spec.modules.count)
        .into_par_iter()
        .map(|i| {
            let mut r = keys::rng(seed, &format!("module/{i}"));
            let size = mod_sizes.sample(uniform(&mut r));
            let hash = pick(mod_hashes, uniform(&mut r));
            let key_i = (r.next_u64() % spec.keys.module_signers.len() as u64) as usize;
            let iss_i = pick(&issuer_weights, uniform(&mut r));
            let skid = (r.next_u64() % 100) < spec.modules.skid_percent as u64;
            let class = choose_class(&mut r, spec.bad.percent, mod_classes);
            let body_len = size.saturating_sub(600).max(64) as usize;
            let mut content = vec![0u8; body_len];
            r.fill_bytes(&mut content);
            // Drawn after everything else (and only when asked for), so corpora without
            // the knob keep every byte they always had.
            let authattrs = attrs_percent > 0 && r.next_u64() % 100 < attrs_percent;
            let rel = format!("modules/m{i:06}.ko");
            let path = dir.join(&rel);
            let signer_i = key_i * n_issuers + iss_i;
            let m = ModuleChoice {
                signer_i,
                hash,
                skid,
                class,
                authattrs,
            };
            let (file, errno, form) = make_module(&h, m, content, &path)?;
            write(&path, &file)?;
            bytes.fetch_add(file.len() as u64, Ordering::Relaxed);
            bar.inc(1);
            let e = Expected::new(rel, ItemKind::Module, class, errno);
            Ok(if forms { e.with_form(form) } else { e })
        })
        .collect();
    let modules = modules?;

    let files: Result<Vec<(Expected, Option<String>)>, Error> = (0..spec.files.count)
        .into_par_iter()
        .map(|i| {
            let mut r = keys::rng(seed, &format!("file/{i}"));
            let size = file_sizes.sample(uniform(&mut r)) as usize;
            let hash = pick(file_hashes, uniform(&mut r));
            let key_i = (r.next_u64() % h.ima_certs.len() as u64) as usize;
            let class = choose_class(&mut r, spec.bad.percent, file_classes);
            let mut content = vec![0u8; size];
            r.fill_bytes(&mut content);
            let rel = format!("files/f{i:06}.bin");
            let path = dir.join(&rel);
            let (content, sig, errno, bl, form) =
                make_file(&h, key_i, content, hash, class, ima_version, &path)?;
            write(&path, &content)?;
            if let Some(sig) = &sig {
                write(&crate::verify::ima::sidecar_path(&path), sig)?;
                if spec.files.xattr {
                    set_xattr(&path, "security.ima", sig);
                }
            }
            bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
            bar.inc(1);
            let e = Expected::new(rel, ItemKind::Ima, class, errno);
            Ok((if forms { e.with_form(form) } else { e }, bl))
        })
        .collect();
    let files = files?;
    bar.finish_and_clear();

    // The hostile items (`[hostile]`), signed by the first module and IMA signers.
    let hostile = if spec.hostile.is_empty() {
        super::hostile::Output::default()
    } else {
        let signers = super::hostile::Signers {
            module: &h.module_certs[0],
            ima: &h.ima_certs[0],
        };
        super::hostile::generate(&spec.hostile, &signers, dir)?
    };
    bytes.fetch_add(hostile.bytes, Ordering::Relaxed);

    // Binary-hash blacklist entries go after the hierarchy (boot-time .blacklist loads).
    let mut script = h.script.clone();
    let mut expected = h.expected.clone();
    script.push_str(&hostile.script);
    expected.push_str(&hostile.expected);
    for (_, bl) in &files {
        if let Some(b) = bl {
            let _ = writeln!(script, "blacklist {b}");
            let _ = writeln!(expected, "ok");
        }
    }
    write(&dir.join("keyring.script"), script.as_bytes())?;
    write(&dir.join("keyring.expected"), expected.as_bytes())?;
    let header = if forms {
        manifest::HEADER_WITH_FORM
    } else {
        manifest::HEADER
    };
    let mut manifest = format!("{header}\n");
    let mut bad = 0;
    for e in modules
        .iter()
        .chain(files.iter().map(|f| &f.0))
        .chain(&hostile.rows)
    {
        bad += e.class.is_some() as usize;
        let _ = writeln!(manifest, "{e}");
    }
    write(&dir.join("manifest.tsv"), manifest.as_bytes())?;
    // The spec as used (seed overrides included), so `gen --spec DIR/spec.toml`
    // reproduces this corpus; the original text follows as comments.
    let used = toml::to_string(spec).map_err(|e| Error::Spec {
        path: origin,
        message: format!("cannot record the spec: {e}"),
    })?;
    let original: String = spec_text.lines().map(|l| format!("# {l}\n")).collect();
    write(
        &dir.join("spec.toml"),
        format!("{used}\n# --- original spec text ---\n{original}").as_bytes(),
    )?;
    write(&dir.join("COMPLETE"), b"")?;
    let hostile_modules = hostile
        .rows
        .iter()
        .filter(|e| e.kind == ItemKind::Module)
        .count();
    Ok(Summary {
        modules: modules.len() + hostile_modules,
        files: files.len() + hostile.rows.len() - hostile_modules,
        bad,
        certs: h.module_certs.len() + h.ima_certs.len() + spec.keys.ima_extra_certs + 10,
        bytes: bytes.into_inner(),
    })
}

/// Makes `dir` ready: created if missing; an earlier corpus there is removed entirely (so
/// no stale signature, sidecar or xattr survives); any other non-empty directory is refused
/// rather than overwritten.
///
/// A refusal is [`Error::Usage`] (the request, not the file system, is at fault).
fn prepare_dir(dir: &Path) -> Result<(), Error> {
    let err = |e: std::io::Error| Error::io(dir, e);
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
        Ok(mut entries) => {
            if entries.next().is_some() {
                if !dir.join("manifest.tsv").exists() && !dir.join("keyring.script").exists() {
                    return Err(Error::usage(format!(
                        "{}: not empty and not a trustbench corpus; refusing to write into it",
                        dir.display()
                    )));
                }
                std::fs::remove_dir_all(dir).map_err(err)?;
            }
        }
    }
    create_dir(dir)
}

/// What one module's random draws chose.
#[derive(Clone, Copy)]
struct ModuleChoice {
    /// Index into the module signing certificates.
    signer_i: usize,
    /// The module hash (sign-file `-hash`, the digestAlgorithm).
    hash: HashAlgo,
    /// Signer id by SKID (sign-file `-k`) rather than issuer+serial.
    skid: bool,
    /// The bad class, if any.
    class: Option<BadClass>,
    /// `modules.mldsa_authattrs_percent` picked signed attributes (applies to ML-DSA
    /// signers only).
    authattrs: bool,
}

/// One module: content ‖ PKCS#7 ‖ trailer, with the bad class applied, its expected errno
/// (as Linux 7.2 without the ML-DSA authattrs waiver decides) and its form. `path` (where
/// it goes) names it in errors.
fn make_module(
    h: &Hierarchy,
    m: ModuleChoice,
    mut content: Vec<u8>,
    path: &Path,
) -> Result<(Vec<u8>, Option<Errno>, Form), Error> {
    let (hash, class) = (m.hash, m.class);
    let signer = match class {
        Some(BadClass::UnknownSigner) => &h.unknown,
        Some(BadClass::Revoked) => &h.revoked_mod,
        Some(BadClass::BlacklistedCert) => &h.blacklisted_mod,
        _ => &h.module_certs[m.signer_i % h.module_certs.len()],
    };
    if class == Some(BadClass::MissingSignature) {
        return Ok((content, Some(Errno::ENODATA), Form::UNSIGNED));
    }
    let ml_dsa = signer.key.ml_dsa().is_some();
    let authattrs = class == Some(BadClass::SignedAttributes) || (ml_dsa && m.authattrs);
    let digest = hash_of(hash, &content, path)?;
    let quirks = Pkcs7Quirks {
        declared_hash: (class == Some(BadClass::WrongHash)).then_some(other_hash(hash)),
        signed_attributes: authattrs,
    };
    let id = if m.skid {
        SignerIdKind::Skid
    } else {
        SignerIdKind::IssuerSerial
    };
    let p7 = sign::pkcs7(&signer.key, &signer.signer, id, &content, &digest, quirks)?;
    let content_len = content.len();
    sign::append_module_signature(&mut content, &p7);
    let n = content.len();
    let form = Form::module(signer.algo.pkey_algo(), authattrs);
    let errno = match class {
        // A module signature with signed attributes is refused ("has authattrs") before
        // any signerInfo is verified or trusted.
        None | Some(BadClass::Tampered) | Some(BadClass::WrongHash) if authattrs => {
            if class == Some(BadClass::Tampered) {
                content[content_len / 2] ^= 0x01;
            }
            Some(Errno::EKEYREJECTED)
        }
        None => None,
        Some(BadClass::Tampered) => {
            content[content_len / 2] ^= 0x01;
            Some(Errno::EKEYREJECTED)
        }
        Some(BadClass::UnknownSigner) | Some(BadClass::BlacklistedCert) => Some(Errno::ENOKEY),
        Some(BadClass::Revoked) => Some(Errno::EKEYREVOKED),
        // ML-DSA without attributes signs the content itself: the kernel overwrites the
        // hash with "none", so a declared digestAlgorithm it knows changes nothing.
        Some(BadClass::WrongHash) if ml_dsa => None,
        Some(BadClass::WrongHash) | Some(BadClass::SignedAttributes) => Some(Errno::EKEYREJECTED),
        Some(BadClass::TruncatedTrailer) => {
            content.truncate(n - 5);
            Some(Errno::ENODATA)
        }
        Some(BadClass::BadMagic) => {
            content[n - 10] ^= 0x20;
            Some(Errno::ENODATA)
        }
        Some(BadClass::OversizedSigLen) => {
            let h0 = n - modsig::MARKER.len() - modsig::HEADER_LEN;
            content[h0 + 8..h0 + 12].copy_from_slice(&(n as u32).to_be_bytes());
            Some(Errno::EBADMSG)
        }
        Some(BadClass::MalformedPkcs7) => {
            content[content_len] = 0x31;
            Some(Errno::EBADMSG)
        }
        Some(other) => return Err(not_applicable(other, "modules", path)),
    };
    Ok((content, errno, form))
}

type FileOut = (
    Vec<u8>,
    Option<Vec<u8>>,
    Option<Errno>,
    Option<String>,
    Form,
);

/// One IMA file: content and its `.sig` in the `ima_version` format, with the bad class
/// applied, its expected errno (as Linux 7.2 decides) and its form. `path` (where it goes)
/// names it in errors.
fn make_file(
    h: &Hierarchy,
    key_i: usize,
    mut content: Vec<u8>,
    hash: HashAlgo,
    class: Option<BadClass>,
    ima_version: u8,
    path: &Path,
) -> Result<FileOut, Error> {
    let signer = match class {
        Some(BadClass::UnknownSigner) => &h.unknown,
        Some(BadClass::Revoked) => &h.revoked_ima,
        Some(BadClass::BlacklistedCert) => &h.blacklisted_ima,
        Some(BadClass::KeyidCollision) => &h.collide_second,
        _ => &h.ima_certs[key_i],
    };
    if class == Some(BadClass::MissingSignature) {
        return Ok((content, None, Some(Errno::ENODATA), None, Form::UNSIGNED));
    }
    if let Some(c) = class.filter(|c| c.is_ima_hash()) {
        let label = hash_label(c, &content, path)?;
        return Ok((
            content,
            Some(label),
            Some(Errno::EINVAL),
            None,
            Form::UNSIGNED,
        ));
    }
    let digest = hash_of(hash, &content, path)?;
    let mut sig = if ima_version == 3 {
        sign::ima_v3(&signer.key, &signer.signer.skid, &digest)?
    } else {
        sign::ima_v2(&signer.key, &signer.signer.skid, &digest)?
    };
    let form = Form::ima(signer.algo.pkey_algo(), ima_version);
    let is_rsa = matches!(signer.algo, KeyAlgo::Rsa(_));
    // The v2 path finds no encoding for an ML-DSA key: ENOPKG once the key is found,
    // before anything is verified (the header checks and the blacklist come first).
    let v2_ml_dsa = ima_version == 2 && signer.algo.ml_dsa().is_some();
    let mut bl = None;
    let errno = match class {
        None | Some(BadClass::Tampered) | Some(BadClass::WrongHash) if v2_ml_dsa => {
            if class == Some(BadClass::Tampered) {
                let n = content.len();
                match content.get_mut(n / 2) {
                    Some(b) => *b ^= 0x01,
                    None => content.push(0),
                }
            }
            if class == Some(BadClass::WrongHash) {
                sig[2] = other_hash(hash).kernel_id();
            }
            Some(Errno::ENOPKG)
        }
        None => None,
        Some(BadClass::Tampered) => {
            let n = content.len();
            match content.get_mut(n / 2) {
                Some(b) => *b ^= 0x01,
                None => content.push(0),
            }
            Some(Errno::EKEYREJECTED)
        }
        Some(BadClass::UnknownSigner) | Some(BadClass::BlacklistedCert) => Some(Errno::ENOKEY),
        Some(BadClass::Revoked) => Some(Errno::EKEYREVOKED),
        Some(BadClass::BlacklistedHash) => {
            bl = Some(format!("bin:{}", digest.hex()));
            Some(Errno::EPERM)
        }
        Some(BadClass::WrongHash) => {
            // Header names another hash than the one signed: RSA finds the wrong
            // DigestInfo (EBADMSG); ECDSA simply does not verify (EKEYREJECTED).
            sig[2] = other_hash(hash).kernel_id();
            Some(if is_rsa {
                Errno::EBADMSG
            } else {
                Errno::EKEYREJECTED
            })
        }
        Some(BadClass::MalformedImaHeader) => {
            sig[8] = sig[8].wrapping_add(1);
            Some(Errno::EBADMSG)
        }
        Some(BadClass::KeyidCollision) => Some(Errno::EINVAL),
        Some(other) => return Err(not_applicable(other, "files", path)),
    };
    let _ = &h.root;
    Ok((content, Some(sig), errno, bl, form))
}

/// The hash a wrong-hash-algo item declares instead of `hash`.
fn other_hash(hash: HashAlgo) -> HashAlgo {
    if hash == HashAlgo::Sha512 {
        HashAlgo::Sha256
    } else {
        HashAlgo::Sha512
    }
}

/// The hash label (not a signature) of a hash class, in the `.sig` sidecar as evmctl
/// `ima_hash --sigfile` would write it (and in `security.ima` for `files.xattr` corpora):
/// type 4 with the file's sha256 (`ima-hash`), one byte of it flipped (`-mismatch`), or
/// only its first 16 bytes (`-short`); type 1 with its sha1 (`ima-hash-sha1`, the 21-byte
/// legacy form). Under the default imasig rule all are `EINVAL` (IMA-signature-required),
/// what the manifest records; [`BadClass::errno_under_hash_rule`] gives the rest.
fn hash_label(class: BadClass, content: &[u8], path: &Path) -> Result<Vec<u8>, Error> {
    use crate::formats::imasig::{encode_hash, TYPE_DIGEST, TYPE_DIGEST_NG};
    if class == BadClass::ImaHashLegacy {
        let d = hash_of(HashAlgo::Sha1, content, path)?;
        return Ok(encode_hash(TYPE_DIGEST, HashAlgo::Sha1, d.as_bytes()));
    }
    let d = hash_of(HashAlgo::Sha256, content, path)?;
    let mut h = d.as_bytes().to_vec();
    match class {
        BadClass::ImaHashMismatch => h[0] ^= 0x01,
        BadClass::ImaHashShort => h.truncate(16),
        _ => {}
    }
    Ok(encode_hash(TYPE_DIGEST_NG, HashAlgo::Sha256, &h))
}

/// A class reached an item kind it does not apply to (the plan keeps such classes away,
/// so this is the generator's own bug, reported rather than panicking).
fn not_applicable(class: BadClass, kind: &str, path: &Path) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: format!("bad class {} does not apply to {kind}", class.name()),
    }
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(p), Ok(n)) = (
        std::ffi::CString::new(path.as_os_str().as_bytes()),
        std::ffi::CString::new(name),
    ) else {
        return;
    };
    // SAFETY: valid C strings and a buffer of the stated length. Failure (no xattr support,
    // no privilege) is fine: the sidecar is always written.
    unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        );
    }
}

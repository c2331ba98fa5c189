//! Instruction counts of the hot paths under gungraun (Callgrind), for regression CI on
//! noisy machines.
//!
//! **Why.** A wall-clock figure on a shared 2-core VM moves by tens of percent between
//! identical runs (issue 10), so a timing gate either fails on noise or misses real
//! regressions. The number of instructions an operation executes barely moves: on the same
//! build and inputs it changes by a few instructions at most from run to run (0.006% here,
//! docs/instruction-counts.md), whatever the machine's load, so a gate on it catches a 1%
//! change. It is not a time (cache misses, the CPU's own speed-ups and
//! the crypto library's vector paths weigh differently), so it complements the criterion
//! benches (`hot_paths`, `restriction`), which measure time.
//!
//! **What.** One op each, on the fixtures the criterion benches use (benches/support/
//! fixtures.rs: made by openssl, sign-file and evmctl):
//!
//! | bench | operation |
//! |---|---|
//! | `restriction_check` | `restrict_link_by_builtin_and_secondary_trusted` judging `signer-rsa2048.der` against the fixture keyring: signer lookup by its authority ids, then the RSA-2048/SHA-256 certificate signature |
//! | `verify_module` | `verify_module` of `mod-rsa2048-sha256.ko` in memory: trailer, PKCS#7, signer lookup, SHA-256 of the module, RSA-2048 verify |
//! | `verify_ima` | `verify_ima` of `ima-rsa2048-sha256.bin` with its evmctl signature: header, key id lookup, SHA-256 of the file, RSA-2048 verify |
//! | `parse_module_signature` | the module trailer (`modsig::locate`) and the PKCS#7 SignedData parse |
//! | `parse_ima_header` | the `security.ima` v2 signature header (`imasig::parse`) |
//! | `parse_x509` | `Store::parse_cert` of `signer-rsa2048.der` (the kernel's X.509 grammar) |
//!
//! Every input is built in a setup function (gungraun runs it outside the measured
//! function), and each setup runs the operation once and checks its answer, so the count
//! is of a warm call (no one-time initialisation inside it) that gives the right verdict.
//!
//! **The single-op backend.** The store verifies with aws-lc, chosen by name, not the
//! default backend: valgrind cannot execute AVX-512, so the multi-buffer `mb` backend's
//! IFMA lanes are out of its reach (under valgrind, CPUID reports no AVX-512 at all and
//! `crypto::mb::Lanes::detect()` finds none, so even the default would be aws-lc; naming
//! it keeps the figures the same on any CPU). The counts measure the single-op path, and
//! aws-lc's own code as valgrind's CPUID lets it choose (AVX2, not AVX-512).
//!
//! **Running** (docs/instruction-counts.md): `cargo bench --bench instructions` (needs
//! valgrind and `gungraun-runner` 0.20.0 on the PATH; about 10 s). Gate a change:
//! `-- --save-baseline=main` on the base, then `-- --baseline=main
//! --callgrind-limits='ir=2%'` on the change: exit code 3 on a regression.
//! `cargo test --release --benches` runs each bench once without valgrind (gungraun's test
//! mode; the runner is still needed).

#[path = "support/fixtures.rs"]
mod fixtures;

use fixtures::{read, store_with};
use gungraun::{library_benchmark, library_benchmark_group, main};
use std::hint::black_box;
use trustbench::crypto::backends;
use trustbench::errno::Errno;
use trustbench::formats::{imasig, modsig, pkcs7::Pkcs7};
use trustbench::trust::restrict::{Candidate, Restriction};
use trustbench::trust::{Serial, Store};
use trustbench::verify::{ima, module, Verdict};

/// The fixture store on aws-lc, the single-op backend (see the module docs), kept for the
/// rest of the process: the measured functions borrow it, so its teardown is not counted.
fn aws_lc_store() -> &'static Store {
    let backend = backends::by_name("aws-lc").expect("aws-lc is always compiled");
    Box::leak(Box::new(store_with(backend)))
}

fn valid(v: Verdict, what: &str) -> Verdict {
    assert!(v.errno.is_none(), "{what}: {v:?}");
    v
}

/// A leaked copy of a fixture file.
fn leaked(name: &str) -> &'static [u8] {
    Box::leak(read(name).into_boxed_slice())
}

struct Restrict {
    store: &'static Store,
    ring: Serial,
    candidate: trustbench::trust::key::AsymmetricKey,
}

fn setup_restriction() -> &'static Restrict {
    let store = aws_lc_store();
    let candidate = store
        .parse_cert(&read("signer-rsa2048.der"))
        .expect("signer-rsa2048.der parses")
        .key;
    let r: &'static Restrict = Box::leak(Box::new(Restrict {
        store,
        ring: store.system().secondary.expect("a secondary keyring"),
        candidate,
    }));
    assert_eq!(restrict(r), Ok(()), "the CA in builtin issued the signer");
    r
}

fn restrict(r: &Restrict) -> Result<(), Errno> {
    Restriction::BuiltinAndSecondaryTrusted.check(
        r.store,
        r.ring,
        Candidate::Asymmetric(black_box(&r.candidate)),
    )
}

#[library_benchmark]
#[bench::rsa2048_builtin_and_secondary(setup = setup_restriction)]
fn restriction_check(r: &'static Restrict) -> Result<(), Errno> {
    black_box(restrict(r))
}

fn setup_module() -> (&'static Store, &'static [u8]) {
    let store = aws_lc_store();
    let m = leaked("mod-rsa2048-sha256.ko");
    valid(module_verdict(store, m), "mod-rsa2048-sha256.ko");
    (store, m)
}

fn module_verdict(store: &Store, m: &[u8]) -> Verdict {
    let ring = store.system().secondary.expect("a secondary keyring");
    module::verify_module(store, black_box(m), ring)
}

#[library_benchmark]
#[bench::rsa2048_sha256(setup = setup_module)]
fn verify_module(input: (&'static Store, &'static [u8])) -> Verdict {
    black_box(module_verdict(input.0, input.1))
}

fn setup_ima() -> (&'static Store, &'static [u8], &'static [u8]) {
    let store = aws_lc_store();
    let f = leaked("ima-rsa2048-sha256.bin");
    let sig = leaked("ima-rsa2048-sha256.bin.sig");
    valid(
        ima::verify_ima(store, f, Some(sig), Default::default()),
        "ima-rsa2048-sha256.bin",
    );
    (store, f, sig)
}

#[library_benchmark]
#[bench::rsa2048_sha256(setup = setup_ima)]
fn verify_ima(input: (&'static Store, &'static [u8], &'static [u8])) -> Verdict {
    black_box(ima::verify_ima(
        input.0,
        black_box(input.1),
        Some(black_box(input.2)),
        Default::default(),
    ))
}

fn setup_module_file() -> &'static [u8] {
    let m = leaked("mod-rsa2048-sha256.ko");
    assert_eq!(parse_modsig(m), Ok(1), "one signer");
    m
}

/// The trailer, then the SignedData: how many signers it has.
fn parse_modsig(m: &[u8]) -> Result<usize, Errno> {
    let sig = modsig::locate(black_box(m))?.ok_or(Errno::ENODATA)?;
    let p7 = Pkcs7::parse(
        sig.pkcs7,
        &trustbench::kernel_profile::KernelProfile::default().rules(),
    )?;
    Ok(p7.signers().count())
}

#[library_benchmark]
#[bench::rsa2048_sha256(setup = setup_module_file)]
fn parse_module_signature(m: &'static [u8]) -> Result<usize, Errno> {
    black_box(parse_modsig(m))
}

fn setup_ima_label() -> &'static [u8] {
    let sig = leaked("ima-rsa2048-sha256.bin.sig");
    assert!(
        imasig::parse(
            sig,
            &trustbench::kernel_profile::KernelProfile::default().rules()
        )
        .is_ok(),
        "evmctl's v2 signature parses"
    );
    sig
}

#[library_benchmark]
#[bench::rsa2048_sha256(setup = setup_ima_label)]
fn parse_ima_header(sig: &'static [u8]) -> u32 {
    black_box(
        imasig::parse(
            black_box(sig),
            &trustbench::kernel_profile::KernelProfile::default().rules(),
        )
        .map_or(0, |s| s.keyid),
    )
}

fn setup_cert() -> (&'static Store, &'static [u8]) {
    let store = aws_lc_store();
    let der = leaked("signer-rsa2048.der");
    assert!(store.parse_cert(der).is_ok(), "signer-rsa2048.der parses");
    (store, der)
}

#[library_benchmark]
#[bench::signer_rsa2048(setup = setup_cert)]
fn parse_x509(input: (&'static Store, &'static [u8])) -> bool {
    // The parsed certificate is dropped inside: freeing it is part of a parse's cost.
    black_box(input.0.parse_cert(black_box(input.1)).is_ok())
}

library_benchmark_group!(
    name = checks,
    benchmarks = [restriction_check, verify_module, verify_ima]
);

library_benchmark_group!(
    name = parsers,
    benchmarks = [parse_module_signature, parse_ima_header, parse_x509]
);

main!(library_benchmark_groups = checks, parsers);

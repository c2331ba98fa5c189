//! Signature verification per algorithm × backend (issue 8): the kernel's
//! `public_key_verify_signature` rules over each compiled crypto backend, on module
//! signatures made by the real `sign-file` (corpora/fixtures).
//!
//! Two figures per backend and fixture:
//! * `prepared` — the key parsed once into the backend's form (as keys are when they enter a
//!   keyring), then one verification per iteration: the per-item cost the engine pays;
//! * `parse_per_call` — the key parsed from its DER for every verification: what a tool that
//!   does not keep parsed keys pays, and so what preparing once saves. The `kernel`
//!   backend is left out here: parsing its key means `add_key` into the kernel, and doing
//!   that per call would only measure (and fill) root's key quota.
//!
//! A backend that cannot do a fixture's algorithm (the kernel has no ECDSA; ring no P-521)
//! prints "unsupported" and gets no bench. ring hashes the message itself, so its figure
//! includes the digest of the module body; the others verify the prehashed digest.
//!
//! `cargo bench --bench signature`; `cargo bench --bench signature -- --profile-time 10`
//! writes flamegraphs into `flamegraphs/`; `cargo test --release --benches` runs each once.

#[path = "support/profiler.rs"]
mod profiler;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use trustbench::crypto::{backends, Backend, CryptoProfile, KeySource, PublicKey};
use trustbench::trust::store::{AddMode, Store};
use trustbench::verify::inputs;

fn read(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpora/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (module fixture, its signer's certificate).
const FIXTURES: [(&str, &str); 4] = [
    ("mod-rsa2048-sha256.ko", "signer-rsa2048.der"),
    ("mod-rsa4096-sha256.ko", "signer-rsa4096.der"),
    ("mod-p256-sha256.ko", "signer-p256.der"),
    ("mod-p384-sha384.ko", "signer-p384.der"),
];

/// A store whose keys `backend` prepared, trusting the fixture signers as built-in keys.
fn store(backend: Arc<dyn Backend>) -> Store {
    let mut s = Store::new(Default::default(), CryptoProfile::full(), backend);
    let builtin = s.system().builtin;
    for (_, cert) in FIXTURES {
        s.add_cert(builtin, &read(cert), AddMode::Bypass)
            .expect("builtin certificate");
    }
    s
}

fn signature(c: &mut Criterion) {
    let mut g = c.benchmark_group("signature");
    for backend in backends::all() {
        let name = backend.name();
        let s = store(backend.clone());
        let ring = s.system().secondary.expect("secondary keyring");
        for (module, cert) in FIXTURES {
            let file = read(module);
            let inp = inputs::module(&s, &file, ring).expect("signature inputs");
            let key = s.asymmetric(inp.key).expect("signer key").clone();
            let rec = inp.record();
            let label = module.trim_end_matches(".ko");
            match key.public.check(&rec, s.profile()) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("{name}/{label}: the fixture does not verify ({e})"),
                Err(why) => {
                    eprintln!("signature/{name}/{label}: unsupported ({why})");
                    continue;
                }
            }
            g.bench_function(BenchmarkId::new(format!("prepared/{name}"), label), |b| {
                b.iter(|| key.public.check(black_box(&rec), s.profile()))
            });
            if name == "kernel" {
                continue;
            }
            let der = read(cert);
            let (algo, raw) = (key.public.algo(), key.public.raw().to_vec());
            g.bench_function(
                BenchmarkId::new(format!("parse_per_call/{name}"), label),
                |b| {
                    b.iter(|| {
                        let src = KeySource {
                            algo,
                            key: black_box(&raw),
                            cert: Some(&der),
                        };
                        let k = PublicKey::new(&src, &*backend);
                        k.check(black_box(&rec), s.profile())
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
        .with_profiler(profiler::Flamegraphs::new("flamegraphs"));
    targets = signature
}
criterion_main!(benches);

//! criterion benches of the hot paths, on fixtures made by the real tools
//! (corpora/fixtures): the raw verify primitive per algorithm, a link-time restriction
//! check, a whole module/IMA verification in memory, one engine item from disk, and the
//! verdict cache.
//!
//! Why: these are the per-item costs `trustbench run` adds up (its ceiling is the raw
//! primitive), measured in isolation so a regression shows where it is. The keyring-size
//! dependence of the link-time check is `benches/restriction.rs`.
//!
//! `cargo bench --bench hot_paths` runs them; `cargo bench -- --profile-time 10` writes a
//! pprof flamegraph per bench into `flamegraphs/` (benches/support/profiler.rs);
//! `cargo test --release --benches` (what `.ci/run` does) runs each once as a test.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/profiler.rs"]
mod profiler;

use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::{fixture, read, store};
use std::hint::black_box;
use std::time::Duration;
use trustbench::engine::cache::{CacheKey, VerdictCache};
use trustbench::engine::read::Scratch;
use trustbench::engine::{CachePolicy, Engine, EngineConfig, Item};
use trustbench::trust::restrict::{Candidate, Restriction};
use trustbench::verify::{ima, inputs, module, ItemKind, Verdict};

fn signature(c: &mut Criterion) {
    let s = store();
    let ring = s.system().secondary.unwrap();
    let mut g = c.benchmark_group("verify_raw");
    for m in [
        "mod-rsa2048-sha256.ko",
        "mod-rsa4096-sha256.ko",
        "mod-p256-sha256.ko",
        "mod-p384-sha384.ko",
    ] {
        let inp = inputs::module(&s, &read(m), ring).expect("inputs");
        let key = s.asymmetric(inp.key).unwrap().clone();
        let rec = inp.record();
        g.bench_function(m, |b| {
            b.iter(|| key.public.verify(black_box(&rec), s.profile()))
        });
    }
    g.finish();
}

fn restriction(c: &mut Criterion) {
    let s = store();
    let cand = s.parse_cert(&read("signer-rsa2048.der")).expect("cert").key;
    let secondary = s.system().secondary.unwrap();
    let r = Restriction::BuiltinAndSecondaryTrusted;
    assert!(r.check(&s, secondary, Candidate::Asymmetric(&cand)).is_ok());
    c.bench_function("restriction_check/builtin_and_secondary", |b| {
        b.iter(|| r.check(&s, secondary, Candidate::Asymmetric(black_box(&cand))))
    });
    let der = read("signer-rsa2048.der");
    c.bench_function("x509_parse/rsa2048", |b| {
        b.iter(|| s.parse_cert(black_box(&der)))
    });
}

fn item(c: &mut Criterion) {
    let s = store();
    let ring = s.system().secondary.unwrap();
    let m = read("mod-rsa2048-sha256.ko");
    c.bench_function("verify_module/rsa2048-sha256-in-memory", |b| {
        b.iter(|| module::verify_module(&s, black_box(&m), ring))
    });
    let f = read("ima-rsa2048-sha256.bin");
    let sig = read("ima-rsa2048-sha256.bin.sig");
    c.bench_function("verify_ima/rsa2048-sha256-in-memory", |b| {
        b.iter(|| ima::verify_ima(&s, black_box(&f), Some(&sig), Default::default()))
    });
    let e = Engine::new(store(), EngineConfig::default(), 1);
    let it = Item {
        path: fixture("mod-rsa2048-sha256.ko"),
        kind: ItemKind::Module,
    };
    let mut scratch = Scratch::default();
    c.bench_function("engine_item/cold (read+verify, cache off)", |b| {
        let cold = e.begin_pass(CachePolicy::Bypass);
        b.iter(|| cold.verify_item(black_box(&it), &mut scratch))
    });
    c.bench_function("engine_item/warm (stat + cache hit)", |b| {
        // A first pass fills the cache, so the measured pass probes it.
        e.begin_pass(CachePolicy::Use)
            .verify_item(&it, &mut scratch);
        let warm = e.begin_pass(CachePolicy::Use);
        b.iter(|| warm.verify_item(black_box(&it), &mut scratch))
    });
}

fn cache(c: &mut Criterion) {
    let cache = VerdictCache::new(1 << 16, 2);
    let v = Verdict::unsigned(ItemKind::Module, "bench");
    for i in 0..(1u64 << 16) {
        let mut k = CacheKey::default();
        k.file.ino = i;
        cache.put(k, 1, v);
    }
    let mut k = CacheKey::default();
    k.file.ino = 1234;
    c.bench_function("cache/get_hit", |b| b.iter(|| cache.get(black_box(&k), 1)));
    c.bench_function("cache/get_stale_epoch", |b| {
        b.iter(|| cache.get(black_box(&k), 2))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
        .with_profiler(profiler::Flamegraphs::new("flamegraphs"));
    targets = signature, restriction, item, cache
}
criterion_main!(benches);

#![no_main]
//! Corpus specs (TOML → `corpus::spec::Spec`), as `trustbench gen --spec` loads them
//! (`Spec::parse`: the TOML grammar, then `Spec::plan`'s checks). Never a panic; and for a
//! spec that parses:
//! - its plan is derived again and used as generation uses it (`Sizes::sample` at both
//!   ends of [0, 1), `spec::pick` over the hash weights), `signed_with` every key family
//!   and `records_forms` are called: none may panic;
//! - it serialises back to TOML (the `spec.toml` a corpus records), and that text must
//!   parse again into a spec whose serialisation is the same text (a fixed point).
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trustbench::corpus::keys::KeyAlgo;
use trustbench::corpus::spec::{pick, Spec};

const ORIGIN: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = Spec::parse(text, ORIGIN) else {
        return;
    };
    let plan = spec
        .plan(Path::new(ORIGIN))
        .expect("a spec that parsed plans again");
    for u in [0.0, 0.5, 1.0 - f64::EPSILON] {
        let _ = plan.module_sizes.sample(u);
        let _ = plan.file_sizes.sample(u);
        let _ = pick(&plan.module_hashes, u);
        let _ = pick(&plan.file_hashes, u);
    }
    let _ = spec.records_forms();
    for algo in ["rsa2048", "p256", "p384", "ml-dsa-65"] {
        let algo: KeyAlgo = algo.parse().expect("a known key algorithm");
        let s = spec.signed_with(algo);
        let _ = s.records_forms();
        let _ = s.plan(Path::new(ORIGIN));
    }
    // The corpus cache records the spec it was made from; what it writes must load back.
    if let Ok(again) = toml::to_string(&spec) {
        let back = Spec::parse(&again, ORIGIN)
            .unwrap_or_else(|e| panic!("re-serialised spec does not parse: {e}\n{again}"));
        let twice = toml::to_string(&back).expect("a parsed spec serialises");
        assert_eq!(again, twice, "serialisation is not a fixed point");
    }
});

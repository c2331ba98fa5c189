//! The benchmark as a library call (`measure::bench`), shards that merge back into the
//! whole, and where `trustbench run` writes: under the current directory by default, where
//! the options say otherwise, never under the tree the binary was built from.
//!
//! One small corpus (60 modules + 60 files, 10% bad items) is generated once per test
//! binary under `$CARGO_TARGET_TMPDIR/measure-corpus`.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use trustbench::corpus::gen::generate;
use trustbench::corpus::spec::Spec;
use trustbench::crypto::{self, CryptoProfile};
use trustbench::engine::Item;
use trustbench::measure::{self, BenchConfig, NotValid, Observer, Phase, RunReport, Shard};
use trustbench::trust::{KernelConfig, Store};
use trustbench::verify::Verdict;

const SPEC: &str = r#"
name = "measure-test"
seed = 11

[keys]
root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = ["rsa2048", "p256"]
ima_signers = ["p256"]
extra_key_pool = 1

[modules]
count = 60
sizes = "fixed:3000"

[files]
count = 60
sizes = "fixed:1024"

[bad]
percent = 10
"#;

const ITEMS: usize = 120;

fn corpus() -> &'static PathBuf {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("measure-corpus");
        let _ = std::fs::remove_dir_all(&dir);
        let spec = Spec::parse(SPEC, "test spec").expect("test spec parses");
        generate(&spec, SPEC, &dir, false).expect("corpus generation");
        dir
    })
}

fn store() -> Store {
    Store::new(
        KernelConfig::default(),
        CryptoProfile::full(),
        crypto::default_backend(),
    )
}

fn config(dir: &Path) -> BenchConfig {
    BenchConfig {
        threads: Some(2),
        calibration: Duration::from_millis(5),
        spec_hash: Some("measure-test".into()),
        ..BenchConfig::new(dir)
    }
}

/// Records what `bench` reports while it runs.
#[derive(Default)]
struct Recorder {
    phases: Vec<String>,
    not_valid: Vec<(PathBuf, Verdict)>,
}

impl Observer for Recorder {
    fn phase(&mut self, p: Phase<'_>) {
        self.phases.push(format!("{p:?}"));
    }
    fn not_valid(&mut self, item: &Item, v: &Verdict) {
        self.not_valid.push((item.path.clone(), *v));
    }
}

fn sum_verdicts(r: &RunReport) -> u64 {
    r.passes[0].verdicts.values().sum()
}

#[test]
fn bench_is_a_library_call() {
    let dir = corpus();
    let mut rec = Recorder::default();
    let c = BenchConfig {
        repeat: 2,
        ..config(dir)
    };
    let r = measure::bench(&c, store(), &mut rec).expect("bench");
    assert_eq!(
        rec.phases,
        [
            "Link",
            &format!("Calibrate {{ items: {ITEMS} }}"),
            "WarmUp { round: 1, of: 1 }",
            "Pass { name: \"cold\", repeat: 1, of: 2 }",
            "Pass { name: \"warm\", repeat: 1, of: 2 }",
            "Pass { name: \"cold\", repeat: 2, of: 2 }",
            "Pass { name: \"warm\", repeat: 2, of: 2 }",
        ]
    );
    assert_eq!((r.repeats, r.warmup), (2, 1));
    for p in &r.passes {
        assert_eq!(p.repeats, 2);
        let e = &p.estimates.efficiency;
        assert_eq!(e.samples.len(), 2, "{}: one figure per repeat", p.name);
        assert!(e.ci_low <= e.median && e.median <= e.ci_high, "{e:?}");
        assert!(p.efficiency > 0.0 && p.efficiency.is_finite(), "{}", p.name);
    }
    // Each repeat began from an empty cache: the cold pass missed every item each time,
    // the warm one hit every item; and the warm pass has a ceiling of its own.
    assert_eq!(r.passes[0].cache.hits, 0);
    assert!(r.ceiling.lookup_ns > 0.0 && !r.ceiling.stat_ns.is_empty());
    assert!(r.ceiling.open_read_ns > 0.0 && !r.ceiling.verify_ns.is_empty());
    assert_eq!(r.corpus.items, ITEMS);
    assert_eq!(r.corpus.spec_hash.as_deref(), Some("measure-test"));
    assert_eq!(r.threads, 2);
    let link = r
        .link
        .as_ref()
        .expect("a generated corpus has a link-time phase");
    assert!(link.unexpected.is_empty(), "{:?}", link.unexpected);
    let m = r.manifest.as_ref().expect("a generated corpus is checked");
    assert_eq!((m.checked, m.count()), (ITEMS, 0), "{:?}", m.mismatches);
    assert_eq!(r.passes.len(), 2);
    for p in &r.passes {
        assert_eq!(p.items, ITEMS);
        assert_eq!(sum_verdicts(&r), ITEMS as u64);
    }
    assert_eq!(r.passes[1].cache.hit_rate, 1.0);
    // The observer heard about every item of the first pass that is not valid.
    let not_valid: u64 = r.passes[0]
        .verdicts
        .iter()
        .filter(|(k, _)| *k != "valid")
        .map(|(_, n)| n)
        .sum();
    assert!(not_valid > 0, "the corpus has bad items");
    assert_eq!(rec.not_valid.len() as u64, not_valid);
    assert!(rec.not_valid.iter().all(|(_, v)| v.errno.is_some()));
}

/// A plain tree (no manifest): no manifest check, and the items that are not valid are
/// counted and named by the collector the CLI prints.
#[test]
fn a_plain_tree_reports_what_is_not_valid() {
    let dir = corpus().join("modules");
    let mut nv = NotValid::default();
    let r = measure::bench(
        &BenchConfig {
            passes: vec!["cold".into()],
            ..config(&dir)
        },
        store(),
        &mut nv,
    )
    .expect("bench");
    assert!(r.manifest.is_none() && r.link.is_none());
    assert_eq!(r.corpus.items, 60);
    // No trust anchors: nothing verifies.
    assert_eq!(nv.count(), 60);
    let text = nv.to_string();
    assert!(
        text.starts_with("## Items that are not valid (60)\n\n- "),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("- ")).count(), 60);
}

#[test]
fn bench_errors_are_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-corpus");
    match measure::bench(&config(&missing), store(), &mut ()) {
        Err(trustbench::Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    match measure::bench(&config(&empty), store(), &mut ()) {
        Err(trustbench::Error::Usage(m)) => assert!(m.contains("no items"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A malformed manifest row names its line.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let src = corpus();
    for f in ["keyring.script", "keyring.expected"] {
        std::fs::copy(src.join(f), bad.join(f)).unwrap();
    }
    std::fs::create_dir(bad.join("certs")).unwrap();
    for e in std::fs::read_dir(src.join("certs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join("certs").join(e.file_name())).unwrap();
    }
    std::fs::write(
        bad.join("manifest.tsv"),
        "path\tkind\tclass\tverdict\terrno\nmodules/m.ko\tmodule\tgood\tvalid\t-\nx\tdriver\tgood\tvalid\t-\n",
    )
    .unwrap();
    match measure::bench(&config(&bad), store(), &mut ()) {
        Err(trustbench::Error::Manifest { line, message }) => {
            assert_eq!(line, 3);
            assert!(message.contains("driver"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// `--shard K/N` runs of one corpus see every item exactly once, and `merge` joins their
/// reports into the whole: items, verdicts and manifest mismatches add up.
#[test]
fn shards_merge_into_the_whole() {
    let dir = corpus();
    // A copy whose manifest disagrees on a few items, so the mismatch counts matter.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(dir, tmp.path());
    let mpath = tmp.path().join("manifest.tsv");
    let text = std::fs::read_to_string(&mpath).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut edited = 0;
    for l in lines.iter_mut().skip(1).step_by(9) {
        let f: Vec<&str> = l.split('\t').collect();
        if f[3] == "valid" {
            *l = format!("{}\t{}\t{}\tinvalid\tEKEYREJECTED", f[0], f[1], f[2]);
            edited += 1;
        }
    }
    assert!(edited > 3);
    std::fs::write(&mpath, lines.join("\n") + "\n").unwrap();

    let whole_cfg = BenchConfig {
        passes: vec!["cold".into()],
        ..config(tmp.path())
    };
    let whole = measure::bench(&whole_cfg, store(), &mut ()).unwrap();
    assert_eq!(whole.manifest.as_ref().unwrap().count(), edited);
    let n = 3;
    let shards: Vec<RunReport> = (1..=n)
        .map(|k| {
            let cfg = BenchConfig {
                shard: Some(Shard::new(k, n).unwrap()),
                ..whole_cfg.clone()
            };
            measure::bench(&cfg, store(), &mut ()).unwrap()
        })
        .collect();
    let items: Vec<usize> = shards.iter().map(|r| r.corpus.items).collect();
    assert_eq!(items.iter().sum::<usize>(), ITEMS, "{items:?}");
    assert!(items.iter().all(|&i| i > 0), "{items:?}");
    let merged = RunReport::merge(shards).unwrap();
    assert_eq!(merged.corpus.items, ITEMS);
    assert_eq!(merged.passes[0].items, ITEMS);
    assert_eq!(merged.passes[0].verdicts, whole.passes[0].verdicts);
    let (mw, mm) = (whole.manifest.unwrap(), merged.manifest.unwrap());
    assert_eq!(mm.checked, ITEMS);
    assert_eq!(mm.mismatch_count, mw.mismatch_count);
    let (mut a, mut b) = (mw.mismatches, mm.mismatches);
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same items are named");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `run` writes its saved report and an `auto` flamegraph under the current directory, and
/// under `--results-dir` when given: the binary may be installed and run anywhere.
#[test]
fn run_writes_under_the_current_directory() {
    let dir = corpus();
    let cwd = tempfile::tempdir().unwrap();
    let base = [
        "run",
        "--passes",
        "cold",
        "--quiet",
        "--calibration-ms",
        "5",
        "--threads",
        "2",
    ];
    let out = run_output(
        trustbench()
            .current_dir(cwd.path())
            .args(base)
            .arg("--corpus")
            .arg(dir)
            .arg("--flamegraph"),
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let written = files_under(cwd.path());
    let rel: Vec<String> = written
        .iter()
        .map(|p| p.strip_prefix(cwd.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(rel.len(), 2, "a report and a flamegraph: {rel:?}");
    assert!(
        rel[0].starts_with("flamegraphs/") && rel[0].ends_with("-measure-corpus.svg"),
        "{rel:?}"
    );
    assert!(
        rel[1].starts_with("results/runs/") && rel[1].ends_with("-measure-corpus.json"),
        "{rel:?}"
    );
    assert!(
        out.stderr.contains(&written[1].display().to_string()),
        "the summary names the saved report: {}",
        out.stderr
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    assert_eq!(json["corpus"]["items"], ITEMS);
    if Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists() {
        let c = json["git_commit"].as_str().expect("built from a checkout");
        assert!(
            c.len() >= 40 && c.bytes().all(|b| b.is_ascii_hexdigit()),
            "{c}"
        );
    }

    // --results-dir: the saved report goes there, nothing into the current directory.
    let cwd2 = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let out = run_output(
        trustbench()
            .current_dir(cwd2.path())
            .args(base)
            .arg("--corpus")
            .arg(dir)
            .arg("--results-dir")
            .arg(results.path().join("deeper")),
    );
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(files_under(cwd2.path()), Vec::<PathBuf>::new());
    let saved = files_under(results.path());
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].starts_with(results.path().join("deeper")));
}

/// `--spec FILE` generates into `--corpus-cache` (default: corpora/generated under the
/// current directory) and reuses it on the next run.
#[test]
fn specs_are_generated_under_the_current_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let spec = cwd.path().join("tiny.toml");
    std::fs::write(
        &spec,
        SPEC.replace("measure-test", "tiny")
            .replace("count = 60", "count = 4"),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        run_output(
            trustbench()
                .current_dir(cwd.path())
                .args(["run", "--spec", "tiny.toml", "--passes", "cold"])
                .args(["--calibration-ms", "5", "--threads", "2", "--quiet"])
                .args(extra),
        )
    };
    let out = run(&[]);
    assert_eq!(out.code(), 0, "{out:?}");
    let generated = cwd.path().join("corpora/generated");
    let dirs: Vec<_> = std::fs::read_dir(&generated).unwrap().collect();
    assert_eq!(dirs.len(), 1);
    let corpus = dirs[0].as_ref().unwrap().path();
    assert!(corpus
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("tiny-"));
    assert!(corpus.join("COMPLETE").exists());
    // Cached: the second run generates nothing new.
    let stamp = std::fs::metadata(corpus.join("COMPLETE"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(run(&[]).code(), 0);
    let again = std::fs::metadata(corpus.join("COMPLETE"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, again, "the cached corpus is reused");
    // --corpus-cache puts it elsewhere.
    let cache = tempfile::tempdir().unwrap();
    let out = run(&["--corpus-cache", cache.path().to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&generated).unwrap().count(), 1);
}

/// The commit recorded in reports is the one the library was built from (build.rs), and
/// it is recorded whenever the build tree is a git checkout. The build tree is named here,
/// in a test, never by the library: an installed binary must not look at it.
#[test]
fn the_git_commit_is_the_builds() {
    match trustbench::measure::report::git_commit() {
        Some(c) => assert!(
            matches!(c.len(), 40 | 64) && c.bytes().all(|b| b.is_ascii_hexdigit()),
            "{c}"
        ),
        None => assert!(
            !Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists(),
            "built from a git checkout, yet no commit recorded"
        ),
    }
}

/// `run --shard auto` takes its shard from the scheduler's variables (here the explicit
/// `TRUSTBENCH_SHARD` of a CI matrix, and a Kubernetes Indexed Job's index with the
/// manifest's count), refuses to guess without them (exit 2, naming the variables), and
/// `merge` joins the two reports; reports from different testbeds are refused (exit 2)
/// unless `--verdicts-only`, whose counts add up to the whole corpus and which has no
/// timing figure.
#[test]
fn shard_auto_from_the_scheduler_and_merge_across_testbeds() {
    use trustbench::measure::scheduler::SHARD_VARIABLES;
    let dir = corpus();
    let cwd = tempfile::tempdir().unwrap();
    let run = |json: &str, env: &[(&str, &str)]| {
        let mut cmd = trustbench();
        cmd.current_dir(cwd.path());
        for v in SHARD_VARIABLES {
            cmd.env_remove(v);
        }
        cmd.envs(env.iter().copied());
        cmd.args([
            "run",
            "--passes",
            "cold",
            "--quiet",
            "--calibration-ms",
            "5",
            "--threads",
            "2",
            "--shard",
            "auto",
            "--json",
            json,
        ])
        .arg("--corpus")
        .arg(dir);
        run_output(&mut cmd)
    };
    let out = run("a.json", &[("TRUSTBENCH_SHARD", "1/2")]);
    assert_eq!(out.code(), 0, "{out:?}");
    let out = run(
        "b.json",
        &[
            ("JOB_COMPLETION_INDEX", "1"),
            ("TRUSTBENCH_SHARD_COUNT", "2"),
        ],
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let out = run("c.json", &[]);
    assert_eq!(out.code(), 2, "{out:?}");
    for v in SHARD_VARIABLES {
        assert!(out.stderr.contains(v), "{v} not named: {}", out.stderr);
    }
    let out = run("c.json", &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(
        out.stderr.contains("TRUSTBENCH_SHARD_COUNT"),
        "{}",
        out.stderr
    );

    // Each report holds exactly its shard's items (the path hash of `Shard`).
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let paths: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(paths.len(), ITEMS);
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(cwd.path().join(name)).unwrap()).unwrap()
    };
    for (name, k) in [("a.json", 1), ("b.json", 2)] {
        let want = paths
            .iter()
            .filter(|p| Shard::new(k, 2).unwrap().contains(p))
            .count();
        assert_eq!(read(name)["corpus"]["items"], want, "{name}: shard {k}/2");
    }

    // One testbed: merged whole.
    let merge =
        |args: &[&str]| run_output(trustbench().current_dir(cwd.path()).arg("merge").args(args));
    let out = merge(&["a.json", "b.json", "--json", "ab.json"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(read("ab.json")["corpus"]["items"], ITEMS);

    // b.json as if run on another machine: its testbed differs.
    let mut b = read("b.json");
    b["testbed"]["host"] = "node-b".into();
    b["testbed"]["id"] = "0000000000000b0b".into();
    std::fs::write(cwd.path().join("b2.json"), b.to_string()).unwrap();
    let out = merge(&["a.json", "b2.json"]);
    assert_eq!(out.code(), 2, "{out:?}");
    let a_id = read("a.json")["testbed"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for part in [
        "different testbeds",
        &a_id,
        "0000000000000b0b",
        "node-b",
        "--verdicts-only",
    ] {
        assert!(out.stderr.contains(part), "'{part}' not in {}", out.stderr);
    }
    let out = merge(&["--verdicts-only", "a.json", "b2.json", "--json", "v.json"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(
        out.stdout.contains("**Timings: not comparable.**"),
        "{}",
        out.stdout
    );
    let v = read("v.json");
    assert_eq!(v["schema"], "trustbench.verdicts/1");
    assert_eq!(v["corpus"]["items"], ITEMS);
    assert_eq!(v["testbeds"].as_array().unwrap().len(), 2);
    assert_eq!(v["manifest"]["checked"], ITEMS);
    let whole: u64 = read("ab.json")["passes"][0]["verdicts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    let counted: u64 = v["passes"][0]["verdicts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!((whole, counted), (ITEMS as u64, ITEMS as u64));
    assert_eq!(
        v["passes"][0]["verdicts"],
        read("ab.json")["passes"][0]["verdicts"]
    );
    assert!(v["passes"][0].get("items_per_s").is_none(), "{v}");
    // A verdict report merges again.
    let out = merge(&["--verdicts-only", "v.json", "--json", "vv.json"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(read("vv.json")["corpus"]["items"], ITEMS);
}

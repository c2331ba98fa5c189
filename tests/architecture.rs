//! The module boundaries hold: arrows point one way, `formats` parses bytes using only the
//! ground floor, `crypto` knows no keyrings, and no module imports one that imports it
//! back.
//!
//! The graph is read from the source: every `crate::…`, `super::…` and `self::…` path
//! outside a `#[cfg(test)] mod tests` block, resolved to the longest module it names. A
//! parent module declaring its children (`pub mod x;`, `pub use x::Y`) is not an import
//! and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`trust::store`) → source text.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read src") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(
                    module_path(&root, &p),
                    std::fs::read_to_string(&p).expect("read"),
                );
            }
        }
    }
    out
}

fn module_path(root: &Path, file: &Path) -> String {
    let rel: PathBuf = file
        .strip_prefix(root)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        return String::new();
    }
    parts.join("::")
}

/// The text before the unit-test module, with comments removed (doc links are not
/// imports).
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    body.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path expression starting at `crate`, `super` or `self`, with braces expanded one
/// level (`use super::{a, b::C}` → `super::a`, `super::b::C`).
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| rest.starts_with(**p));
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let (Some(_), true) = (starts, boundary) else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = rest[..end].trim_end_matches(':').to_string();
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for item in rest[end + 1..close].split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                if !item.is_empty() && item != "self" && !item.contains('{') {
                    out.push(format!("{head}::{item}"));
                }
            }
            out.push(head);
            i += close.max(1);
        } else {
            out.push(head);
            i += end.max(1);
        }
    }
    out
}

/// Resolves a path used in module `cur` to the longest module it names.
fn resolve(mods: &BTreeSet<String>, cur: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = if cur.is_empty() {
        vec![]
    } else {
        cur.split("::").collect()
    };
    match parts.first().copied() {
        Some("crate") => {
            base.clear();
            parts.remove(0);
        }
        Some("self") => {
            parts.remove(0);
        }
        Some("super") => {
            while parts.first() == Some(&"super") {
                base.pop();
                parts.remove(0);
            }
        }
        _ => return None,
    }
    (0..=parts.len()).rev().find_map(|n| {
        let m: Vec<&str> = base
            .iter()
            .copied()
            .chain(parts[..n].iter().copied())
            .collect();
        let m = m.join("::");
        mods.contains(&m).then_some(m)
    })
}

/// Module → the modules it imports (not its own children, not itself, not the root).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules();
    let names: BTreeSet<String> = all.keys().cloned().collect();
    let mut g = BTreeMap::new();
    for (m, text) in &all {
        if m.is_empty() || m == "cli" || m.starts_with("cli::") {
            continue;
        }
        let deps: BTreeSet<String> = paths(&code(text))
            .iter()
            .filter_map(|p| resolve(&names, m, p))
            .filter(|d| !d.is_empty() && d != m && !d.starts_with(&format!("{m}::")))
            .collect();
        g.insert(m.clone(), deps);
    }
    g
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

/// The ground floor: vocabulary every layer may use.
const GROUND: &[&str] = &[
    "algo",
    "asn1",
    "errno",
    "error",
    "hash",
    "kernel_profile",
    "oid",
    "timing",
];

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let g = graph();
    let mut cycles = Vec::new();
    // Depth-first search for any cycle.
    fn dfs(
        g: &BTreeMap<String, BTreeSet<String>>,
        u: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        stack.push(u.to_string());
        for v in g.get(u).into_iter().flatten() {
            if let Some(i) = stack.iter().position(|s| s == v) {
                cycles.push(format!("{} -> {v}", stack[i..].join(" -> ")));
            } else if !done.contains(v) {
                dfs(g, v, stack, done, cycles);
            }
        }
        stack.pop();
        done.insert(u.to_string());
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if !done.contains(m) {
            dfs(&g, m, &mut Vec::new(), &mut done, &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn layers_point_one_way() {
    // Each layer may import only the layers below it (and the ground floor).
    let below: &[(&str, &[&str])] = &[
        ("formats", &[]),
        ("crypto", &[]),
        ("trust", &["crypto"]),
        ("verify", &["trust", "formats", "crypto"]),
        ("kernel", &["trust", "crypto"]),
        ("corpus", &["verify", "formats", "crypto", "trust"]),
        ("engine", &["verify", "trust", "formats", "crypto"]),
        (
            "measure",
            &[
                "engine", "verify", "trust", "formats", "crypto", "kernel", "corpus",
            ],
        ),
    ];
    let g = graph();
    let mut wrong = Vec::new();
    for (m, deps) in &g {
        let layer = top(m);
        let Some((_, allowed)) = below.iter().find(|(l, _)| *l == layer) else {
            assert!(GROUND.contains(&layer), "module {m} belongs to no layer");
            // The ground floor imports only the ground floor.
            for d in deps {
                if !GROUND.contains(&top(d)) {
                    wrong.push(format!("{m} (ground floor) imports {d}"));
                }
            }
            continue;
        };
        for d in deps {
            let t = top(d);
            if t != layer && !GROUND.contains(&t) && !allowed.contains(&t) {
                wrong.push(format!("{m} imports {d}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_graph_reader_sees_imports() {
    // The checks above are only as good as the reader: it must see the imports that are
    // known to exist, in each syntax.
    let g = graph();
    let has = |a: &str, b: &str| g.get(a).is_some_and(|d| d.contains(b));
    assert!(
        has("trust::store", "trust::restrict"),
        "use super::restrict::{{…}}"
    );
    assert!(has("formats::pkcs7", "asn1"), "use crate::asn1::{{…}}");
    assert!(has("trust::x509", "oid"), "use crate::oid");
    assert!(has("engine", "verify"), "crate::verify::…");
    let names: BTreeSet<String> = modules().keys().cloned().collect();
    assert_eq!(
        resolve(&names, "trust::store", "super::restrict::Restriction").as_deref(),
        Some("trust::restrict")
    );
    assert_eq!(
        paths("use super::{a, b::C};"),
        vec!["super::a", "super::b::C", "super"]
    );
}

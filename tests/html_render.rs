//! The HTML report (`--html`) of a real run, rendered by a real headless Chromium: the
//! rendered page has its tables (the expected header cells, a row per pass and per scaling
//! step) and its SVG charts, and its screenshot is not blank. The same run's Bencher Metric
//! Format file (`--bmf`) holds the JSON report's figures under the documented names.
//!
//! Chromium is Debian's `chromium` at /usr/bin/chromium (`.ci/run` installs it); missing,
//! the test fails under CI=true and is skipped loudly otherwise. The browser is stopped if
//! it has not finished within [`BROWSER_DEADLINE`], so a hung browser fails the test
//! instead of hanging CI (a guard against hangs, not a performance limit).

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a browser run may take before it is killed and the test fails.
const BROWSER_DEADLINE: Duration = Duration::from_secs(180);

#[path = "support/tiny_spec.rs"]
mod tiny_spec;

/// Runs Chromium headless on `page` with `args`, stdout into a file (no pipe to fill up),
/// killed after [`BROWSER_DEADLINE`]. Returns its stdout.
fn chromium(page: &Path, work: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let out_path = work.join("chromium.stdout");
    let err_path = work.join("chromium.stderr");
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_DEADLINE:?}: {cmd:?}\nstderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{cmd:?}: {status}\nstderr:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    std::fs::read_to_string(&out_path).unwrap()
}

/// The rows of the table with id `id` in `dom`, each the text of its cells.
fn table_rows(dom: &str, id: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id} in the rendered page"));
    let end = start + dom[start..].find("</table>").unwrap();
    let table = &dom[start..end];
    // The text of every <tag> or <tag …> element in `row` (not <thead> for th).
    let cells = |row: &str, tag: &str| -> Vec<String> {
        let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
        let mut out = Vec::new();
        let mut rest = row;
        while let Some(at) = rest.find(&open) {
            rest = &rest[at + open.len()..];
            if !rest.starts_with(['>', ' ']) {
                continue;
            }
            let body = &rest[rest.find('>').unwrap() + 1..];
            let end = body.find(&close).expect("a closed cell");
            out.push(body[..end].to_string());
            rest = &body[end..];
        }
        out
    };
    let (head, body) = table.split_once("<tbody>").expect("a table body");
    let rows = body.split("<tr>").skip(1).map(|r| cells(r, "td")).collect();
    (cells(head, "th"), rows)
}

/// Pixels of the screenshot: (share not white, distinct colours, pixels of the charts'
/// first colour, the Okabe–Ito blue).
fn screenshot_stats(png_path: &Path) -> (f64, usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("image size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let mut colours = std::collections::HashSet::new();
    let (mut total, mut non_white, mut blue) = (0usize, 0usize, 0usize);
    for px in buf[..info.buffer_size()].chunks_exact(channels) {
        let (r, g, b) = (px[0], px[1], px[2]);
        total += 1;
        if r < 245 || g < 245 || b < 245 {
            non_white += 1;
        }
        if r.abs_diff(0) < 12 && g.abs_diff(114) < 12 && b.abs_diff(178) < 12 {
            blue += 1;
        }
        colours.insert((r, g, b));
    }
    (non_white as f64 / total as f64, colours.len(), blue)
}

#[test]
fn the_html_report_renders_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        skip_or_fail(
            &format!("{CHROMIUM} was not found"),
            "hint: apt-get install chromium (.ci/run does)",
        );
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_render");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let out = work.join("out");
    std::fs::write(
        work.join("tiny.toml"),
        tiny_spec::tiny_spec("html-render", 5, 12, &["rsa2048", "p256"], "p256"),
    )
    .unwrap();
    let (html, bmf, json) = (
        out.join("report.html"),
        out.join("report.bmf.json"),
        out.join("report.json"),
    );
    let run = run_output(
        trustbench()
            .current_dir(&work)
            .args(["run", "--spec", "tiny.toml", "--threads", "2", "--scaling"])
            .args([
                "--calibration-ms",
                "5",
                "--quiet",
                "--results-dir",
                "results",
            ])
            // A path that needs escaping in HTML: the report names the corpus.
            .args(["--corpus-cache", "corpora <&\"'>"])
            .arg("--html")
            .arg(&html)
            .arg("--bmf")
            .arg(&bmf)
            .arg("--json")
            .arg(&json),
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let passes: Vec<&Value> = report["passes"].as_array().unwrap().iter().collect();
    let names: Vec<&str> = passes.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cold", "warm"]);
    let scaling = report["scaling"].as_array().unwrap().len();
    assert!(scaling >= 1, "--scaling gives a curve");

    // The BMF file: the report's figures under the documented names.
    let doc: Value = serde_json::from_slice(&std::fs::read(&bmf).unwrap()).unwrap();
    let corpus = Path::new(report["corpus"]["dir"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let backend = report["versions"]["backend"].as_str().unwrap();
    for p in &passes {
        let name = format!(
            "trustbench/{corpus}/{backend}/2t/{}",
            p["name"].as_str().unwrap()
        );
        let got = |slug: &str| doc[&name][slug]["value"].as_f64();
        assert_eq!(
            got("throughput"),
            p["items_per_s"].as_f64(),
            "{name}: {doc:#}"
        );
        assert_eq!(got("efficiency"), p["efficiency"].as_f64(), "{name}");
        assert_eq!(got("latency"), p["latency"]["p50_ns"].as_f64(), "{name}");
        assert_eq!(
            got("latency-p99"),
            p["latency"]["p99_ns"].as_f64(),
            "{name}"
        );
    }
    let link = &doc[&format!("trustbench/{corpus}/{backend}/link")];
    assert_eq!(
        link["throughput"]["value"].as_f64(),
        report["link"]["checks_per_s"].as_f64(),
        "{doc:#}"
    );

    // The page as Chromium rendered it.
    let dom = chromium(&html, &work, &["--dump-dom".into()]);
    assert!(dom.contains("<h1>trustbench run: "), "{dom}");
    let (head, rows) = table_rows(&dom, "pass-table");
    for h in [
        "pass",
        "items/s",
        "efficiency",
        "crypto efficiency",
        "p50",
        "p99",
        "max",
        "cache hit",
    ] {
        assert!(
            head.iter().any(|c| c == h),
            "pass table lacks {h}: {head:?}"
        );
    }
    let row_names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(row_names, names, "a row per pass");
    assert!(rows.iter().all(|r| r.len() == head.len()));
    for (id, want) in [
        ("ceiling-table", "primitive"),
        ("verdict-table", "verdict"),
        ("stage-table", "stage"),
        ("scaling-table", "threads"),
    ] {
        let (head, rows) = table_rows(&dom, id);
        assert_eq!(head[0], want, "{id}");
        assert!(!rows.is_empty(), "{id} has rows");
        if id == "scaling-table" {
            assert_eq!(rows.len(), scaling, "a row per scaling step");
        }
    }
    for id in ["header", "manifest-table", "link-table"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    for id in ["stage-chart", "latency-chart"] {
        let at = dom
            .find(&format!("<figure id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        let fig = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        assert!(fig.contains("<svg"), "{id} has its SVG");
        assert!(fig.matches("<rect").count() > 5, "{id} has bars");
    }
    // The scaling curve is drawn (the line chart `capacity` plots with): a path per series.
    let at = dom
        .find("<figure id=\"scaling-chart\"")
        .expect("--scaling gives a scaling chart");
    let fig = &dom[at..at + dom[at..].find("</figure>").unwrap()];
    assert!(
        fig.contains("<svg") && fig.contains("engine items/s"),
        "{fig}"
    );
    // The corpus path, which needs escaping, is shown as text.
    assert!(
        dom.contains("corpora &lt;&amp;\"'&gt;/html-render-"),
        "{}",
        &dom[..dom.find("</h1>").unwrap()]
    );

    // What a person would see: not blank, and the charts' colours are drawn.
    let shot = work.join("report.png");
    chromium(
        &html,
        &work,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let (ink, colours, blue) = screenshot_stats(&shot);
    eprintln!(
        "screenshot {}: {:.1}% not white, {colours} colours, {blue} chart-blue pixels",
        shot.display(),
        ink * 100.0
    );
    assert!(ink > 0.03, "the screenshot is nearly blank: {ink}");
    assert!(colours > 16, "only {colours} colours");
    assert!(blue > 200, "the charts' bars are not drawn ({blue} pixels)");
}

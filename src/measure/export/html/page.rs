//! The page: one self-contained HTML document built from escaped text, tables and inline
//! SVG. Everything the page shows is in the file (its CSS inline, its charts inline SVG):
//! it opens offline, from a CI artifact or an e-mail attachment, and loads nothing.

use std::fmt::Write;

/// The page's style: readable tables, numbers right-aligned, charts scaled to the page.
const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;\
margin:1.5rem auto;max-width:78rem;padding:0 1rem;color:#1b1b1b;background:#fff;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;\
border-bottom:1px solid #ccc;padding-bottom:.2rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}\
th,td{border:1px solid #d0d0d0;padding:.25rem .55rem;vertical-align:top}\
th{background:#eef2f7;text-align:left}td{text-align:right;font-variant-numeric:tabular-nums}\
td:first-child,td.t{text-align:left}table.facts td{text-align:left}table.facts th{width:11rem}\
tbody tr:nth-child(even){background:#f8f9fb}\
.note{color:#555;font-size:.85rem;max-width:60rem}.bad{color:#b00020;font-weight:600}\
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;border:1px solid #e2e2e2}\
figcaption{color:#555;font-size:.85rem}code{font-size:.85rem;word-break:break-all}";

/// `text` with every character that means something in HTML replaced by its entity, so
/// that any string (a path with `<&"`, a pass name, a CPU model) is shown as text.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// An HTML document being written. Every method takes plain text and escapes it; the one
/// exception, [`Page::figure`], takes SVG markup drawn by this exporter's charts.
pub struct Page {
    s: String,
}

impl Page {
    /// A page titled `title`, its heading and the subtitle line `sub`.
    pub fn new(title: &str, sub: &str) -> Page {
        let mut s = String::new();
        let t = escape(title);
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n\
             <p class=\"note\">{}</p>\n",
            escape(sub)
        );
        Page { s }
    }

    /// Opens a section with an id (for links and tests) and a heading.
    pub fn section(&mut self, id: &str, heading: &str) {
        let _ = writeln!(
            self.s,
            "<section id=\"{}\">\n<h2>{}</h2>",
            escape(id),
            escape(heading)
        );
    }

    /// Closes the open section.
    pub fn end_section(&mut self) {
        self.s.push_str("</section>\n");
    }

    /// A paragraph of text.
    pub fn para(&mut self, text: &str) {
        let _ = writeln!(self.s, "<p>{}</p>", escape(text));
    }

    /// A paragraph of explanation, smaller and grey.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.s, "<p class=\"note\">{}</p>", escape(text));
    }

    /// A warning that must not be overlooked.
    pub fn alert(&mut self, text: &str) {
        let _ = writeln!(self.s, "<p class=\"bad\">{}</p>", escape(text));
    }

    /// A two-column table of named facts.
    pub fn facts(&mut self, id: &str, rows: &[(&str, String)]) {
        let _ = writeln!(self.s, "<table class=\"facts\" id=\"{}\">", escape(id));
        for (k, v) in rows {
            let _ = writeln!(
                self.s,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                escape(k),
                escape(v)
            );
        }
        self.s.push_str("</table>\n");
    }

    /// A table with a header row and one row per entry of `rows`. The first column is the
    /// row's name; figures are right-aligned, other text (a library, `unsupported`) left.
    pub fn table(&mut self, id: &str, head: &[&str], rows: &[Vec<String>]) {
        let _ = write!(self.s, "<table id=\"{}\">\n<thead><tr>", escape(id));
        for h in head {
            let _ = write!(self.s, "<th scope=\"col\">{}</th>", escape(h));
        }
        self.s.push_str("</tr></thead>\n<tbody>\n");
        for r in rows {
            self.s.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let figure = c.starts_with(|ch: char| ch.is_ascii_digit() || "-+.".contains(ch));
                let class = if i > 0 && !figure { " class=\"t\"" } else { "" };
                let _ = write!(self.s, "<td{class}>{}</td>", escape(c));
            }
            self.s.push_str("</tr>\n");
        }
        self.s.push_str("</tbody>\n</table>\n");
    }

    /// A bulleted list; paths and messages are shown as code.
    pub fn list(&mut self, items: impl IntoIterator<Item = String>) {
        self.s.push_str("<ul>\n");
        for i in items {
            let _ = writeln!(self.s, "<li><code>{}</code></li>", escape(&i));
        }
        self.s.push_str("</ul>\n");
    }

    /// An inline SVG chart with its caption. `svg` is markup from this exporter's charts,
    /// which escape the text they draw.
    pub fn figure(&mut self, id: &str, svg: &str, caption: &str) {
        let _ = writeln!(
            self.s,
            "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            escape(id),
            svg.trim(),
            escape(caption)
        );
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.s.push_str("</body>\n</html>\n");
        self.s
    }
}

/// A count of nanoseconds for people: ns, µs, ms or s.
pub fn duration(ns: f64) -> String {
    match ns {
        n if !n.is_finite() => "-".into(),
        n if n < 1e3 => format!("{n:.0} ns"),
        n if n < 1e6 => format!("{:.1} µs", n / 1e3),
        n if n < 1e9 => format!("{:.1} ms", n / 1e6),
        n => format!("{:.2} s", n / 1e9),
    }
}

/// Seconds since the epoch as a UTC date and time, `2023-11-14 22:13 UTC`: years and
/// months are counted off one by one (a report's date is at most a few hundred years past
/// 1970, so that is a few hundred steps).
pub fn utc_date(unix: u64) -> String {
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let (mut days, secs) = (unix / 86_400, unix % 86_400);
    let mut year = 1970;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 1;
    for len in lengths {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02} {:02}:{:02} UTC",
        days + 1,
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        let mut p = Page::new("T<1", "S&2");
        p.section("I\"3", "H>4");
        p.facts("f", &[("K<5", "V&6".into())]);
        p.table("t", &["C\"7"], &[vec!["<c8>".into()]]);
        p.list(["</li9>".to_string()]);
        p.para("P'10");
        p.end_section();
        let html = p.finish();
        for raw in [
            "T<1", "S&2", "I\"3", "H>4", "K<5", "V&6", "C\"7", "<c8>", "</li9>", "P'10",
        ] {
            assert!(!html.contains(raw), "{raw} unescaped in {html}");
        }
        assert!(html.contains("<td>&lt;c8&gt;</td>"), "{html}");
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_709_251_199), "2024-02-29 23:59 UTC");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01 00:00 UTC");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(950.0), "950 ns");
        assert_eq!(duration(12_345.0), "12.3 µs");
        assert_eq!(duration(2.5e6), "2.5 ms");
        assert_eq!(duration(3e9), "3.00 s");
    }
}

//! `--plot FILE.svg`: a small hand-written SVG with two panels: the latency distribution of
//! every test (latency against percentile, on the usual "number of nines" scale) and the
//! throughput over time (the per-second samples). No plotting crate: two polylines per test,
//! axes, ticks and a legend are all it needs.

use std::fmt::Write;

use super::report::Report;

const W: f64 = 900.0;
const PANEL_H: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 180.0;
const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The SVG document for a report.
pub fn svg(mode: &str, report: &Report) -> String {
    let mut s = String::new();
    let h = 2.0 * PANEL_H + 120.0;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="15">confab bench {}</text>"#,
        W / 2.0,
        esc(mode)
    );
    latency_panel(&mut s, report, 40.0);
    throughput_panel(&mut s, report, 80.0 + PANEL_H);
    s.push_str("</svg>\n");
    s
}

/// x position of percentile `q` on the nines scale: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3, ...
fn nines(q: f64) -> f64 {
    let rest = (100.0 - q).max(0.0001) / 100.0;
    (-rest.log10()).min(4.0)
}

fn latency_panel(s: &mut String, report: &Report, top: f64) {
    let curves: Vec<(String, Vec<(f64, f64)>)> = report
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.latency.curve()))
        .collect();
    let ymax = nice_max(
        curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let xmax = 4.0;
    let labels: Vec<(f64, String)> = ["0%", "90%", "99%", "99.9%", "99.99%"]
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, l.to_string()))
        .collect();
    axes(
        s,
        top,
        "latency distribution",
        "percentile",
        "latency (ms)",
        xmax,
        ymax,
        &labels,
    );
    for (i, (name, pts)) in curves.iter().enumerate() {
        let pts: Vec<(f64, f64)> = pts.iter().map(|&(q, ms)| (nines(q), ms)).collect();
        series(s, "latency", name, i, &pts, top, xmax, ymax);
    }
}

fn throughput_panel(s: &mut String, report: &Report, top: f64) {
    let xmax = nice_max(report.samples.iter().map(|p| p.t).fold(0.0, f64::max));
    let ymax = nice_max(report.samples.iter().map(|p| p.rps).fold(0.0, f64::max));
    let labels: Vec<(f64, String)> = (0..=5)
        .map(|i| {
            (
                xmax * i as f64 / 5.0,
                format!("{:.1}", xmax * i as f64 / 5.0),
            )
        })
        .collect();
    axes(
        s,
        top,
        "throughput over time",
        "seconds",
        "requests/sec",
        xmax,
        ymax,
        &labels,
    );
    let mut names: Vec<&str> = Vec::new();
    for p in &report.samples {
        if !names.contains(&p.test.as_str()) {
            names.push(&p.test);
        }
    }
    for (i, name) in names.iter().enumerate() {
        let pts: Vec<(f64, f64)> = report
            .samples
            .iter()
            .filter(|p| p.test == *name)
            .map(|p| (p.t, p.rps))
            .collect();
        series(s, "throughput", name, i, &pts, top, xmax, ymax);
    }
}

#[allow(clippy::too_many_arguments)]
fn axes(
    s: &mut String,
    top: f64,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    _xmax: f64,
    ymax: f64,
    xticks: &[(f64, String)],
) {
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, top + 20.0, top + PANEL_H);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
        (x0 + x1) / 2.0,
        top + 10.0,
        esc(title)
    );
    let _ = writeln!(
        s,
        r#"<path d="M{x0},{y0} L{x0},{y1} L{x1},{y1}" stroke="black" fill="none"/>"#
    );
    let xspan = xticks.last().map(|t| t.0).unwrap_or(1.0).max(1e-9);
    for (v, label) in xticks {
        let x = x0 + (x1 - x0) * v / xspan;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{y0}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y1 + 15.0,
            esc(label)
        );
    }
    for i in 0..=4 {
        let v = ymax * i as f64 / 4.0;
        let y = y1 - (y1 - y0) * i as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 5.0,
            y + 4.0,
            fmt_num(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        y1 + 32.0,
        esc(xlabel)
    );
    let _ = writeln!(
        s,
        r#"<text x="15" y="{:.1}" text-anchor="middle" transform="rotate(-90 15 {:.1})">{}</text>"#,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        esc(ylabel)
    );
}

#[allow(clippy::too_many_arguments)]
fn series(
    s: &mut String,
    kind: &str,
    name: &str,
    i: usize,
    pts: &[(f64, f64)],
    top: f64,
    xmax: f64,
    ymax: f64,
) {
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, top + 20.0, top + PANEL_H);
    let color = COLORS[i % COLORS.len()];
    let mut points = String::new();
    for &(x, y) in pts {
        let px = x0 + (x1 - x0) * (x / xmax.max(1e-9)).clamp(0.0, 1.0);
        let py = y1 - (y1 - y0) * (y / ymax.max(1e-9)).clamp(0.0, 1.0);
        let _ = write!(points, "{px:.1},{py:.1} ");
    }
    let _ = writeln!(
        s,
        r#"<polyline class="series {kind}" data-test="{}" points="{}" stroke="{color}" stroke-width="1.5" fill="none"/>"#,
        esc(name),
        points.trim_end()
    );
    let ly = y0 + 15.0 * i as f64;
    let _ = writeln!(
        s,
        r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
        x1 + 10.0,
        x1 + 30.0,
        x1 + 35.0,
        ly + 4.0,
        esc(name)
    );
}

/// A round axis maximum at or above `v`.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_num(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_and_nines() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert_eq!(nines(0.0), 0.0);
    }
}

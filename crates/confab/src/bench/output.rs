//! What the user sees: the live progress bar (indicatif, only when stderr is a terminal) that
//! also samples the per-second throughput for the plot, the final table, the `--json`
//! document, and the exit code.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::report::{Report, Sample};
use super::{Common, Limit};

/// A progress bar and per-second sampler for one test, on its own thread so the event loops
/// only bump an atomic counter.
pub struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Sample>>>,
}

impl Progress {
    /// Start watching `counter` (requests completed) for the test `name`.
    pub fn start(
        name: &str,
        total: Option<u64>,
        counter: Arc<AtomicU64>,
        run_start: Instant,
    ) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name = name.to_string();
        let handle = std::thread::spawn(move || {
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = match total {
                    Some(n) => indicatif::ProgressBar::new(n),
                    None => indicatif::ProgressBar::new_spinner(),
                };
                let style = indicatif::ProgressStyle::with_template(
                    "{prefix:>14} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                bar.set_style(style);
                bar.set_prefix(name.clone());
                bar
            });
            let mut samples = Vec::new();
            let start = Instant::now();
            let mut last_t = start;
            let mut last_n = 0u64;
            let mut recent = (start, 0u64);
            loop {
                let stopping = flag.load(Ordering::Acquire);
                let now = Instant::now();
                let n = counter.load(Ordering::Relaxed);
                if let Some(bar) = &bar {
                    bar.set_position(n);
                    let dt = now.duration_since(recent.0).as_secs_f64();
                    if dt >= 0.5 {
                        let rate = (n - recent.1) as f64 / dt;
                        bar.set_message(format!("{rate:.0} req/s"));
                        recent = (now, n);
                    }
                }
                let dt = now.duration_since(last_t).as_secs_f64();
                if dt >= 1.0 || (stopping && dt > 0.0 && n > last_n) {
                    samples.push(Sample {
                        t: now.duration_since(run_start).as_secs_f64(),
                        rps: (n - last_n) as f64 / dt,
                        test: name.clone(),
                    });
                    last_t = now;
                    last_n = n;
                }
                if stopping {
                    break;
                }
                std::thread::park_timeout(Duration::from_millis(100));
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            samples
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }

    /// Stop the bar and return the samples.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => {
                h.thread().unpark();
                h.join().unwrap_or_default()
            }
            None => Vec::new(),
        }
    }
}

/// The settings echoed in the JSON document.
pub fn settings(c: &Common, limit: Limit) -> Vec<(String, Value)> {
    let mut v = vec![
        ("host".to_string(), json!(c.host)),
        ("port".to_string(), json!(c.port)),
        ("clients".to_string(), json!(c.clients)),
        ("threads".to_string(), json!(c.threads)),
        ("pipeline".to_string(), json!(c.pipeline)),
        ("data_size".to_string(), json!(c.data_size)),
        ("keyspace".to_string(), json!(c.keyspace)),
        ("protocol".to_string(), json!(if c.resp3 { 3 } else { 2 })),
    ];
    if limit.max_requests() != u64::MAX {
        v.push(("requests".into(), json!(limit.max_requests())));
    }
    if let Some(d) = limit.max_time() {
        v.push(("duration".into(), json!(d.as_secs_f64())));
    }
    v
}

/// Print the report (table or JSON), write the plot, and return the exit code.
pub fn finish(mode: &str, c: &Common, report: &Report) -> i32 {
    let code = report.exit_code();
    if let Some(path) = &c.plot {
        if let Err(e) = std::fs::write(path, super::plot::svg(mode, report)) {
            eprintln!("confab bench {mode}: cannot write {}: {e}", path.display());
        }
    }
    if c.json {
        println!("{}", to_json(mode, report, code));
    } else {
        print!("{}", table(report));
    }
    for row in &report.rows {
        if let Some(e) = &row.first_error {
            eprintln!("{}: {} error replies; first: {e}", row.name, row.errors);
        }
    }
    if let Some(l) = &report.connection_lost {
        eprintln!("confab bench {mode}: connection lost: {l}");
    }
    code
}

/// The JSON document (schema in the README).
pub fn to_json(mode: &str, report: &Report, code: i32) -> Value {
    let tests: Vec<Value> = report
        .rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("name".into(), json!(r.name));
            m.insert("requests".into(), json!(r.requests));
            m.insert("errors".into(), json!(r.errors));
            m.insert("seconds".into(), json!(r.seconds));
            m.insert("rps".into(), json!(r.rps()));
            m.insert(
                "latency_ms".into(),
                serde_json::to_value(r.latency.summary()).unwrap_or(Value::Null),
            );
            m.insert("first_error".into(), json!(r.first_error));
            for (k, v) in &r.extra {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        })
        .collect();
    let settings: Map<String, Value> = report.settings.iter().cloned().collect();
    json!({
        "mode": mode,
        "settings": settings,
        "tests": tests,
        "throughput": report.samples.iter().map(|s| json!({"t": s.t, "rps": s.rps, "test": s.test})).collect::<Vec<_>>(),
        "checks": report.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "details": c.details})).collect::<Vec<_>>(),
        "connection_lost": report.connection_lost,
        "exit_code": code,
    })
}

/// The table: one row per test, then the extra figures and the checks.
pub fn table(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let w = report
        .rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<w$} {:>10} {:>7} {:>8} {:>12} {:>8} {:>8} {:>8} {:>9} {:>8}",
        "test",
        "requests",
        "errors",
        "seconds",
        "rps",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms"
    );
    for r in &report.rows {
        let p = r.latency.summary();
        let _ = writeln!(
            out,
            "{:<w$} {:>10} {:>7} {:>8.2} {:>12.1} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>8.3}",
            r.name,
            r.requests,
            r.errors,
            r.seconds,
            r.rps(),
            p.p50,
            p.p90,
            p.p99,
            p.p99_9,
            p.max
        );
    }
    for r in &report.rows {
        for (k, v) in &r.extra {
            let _ = writeln!(out, "{}: {k} = {v}", r.name);
        }
    }
    for c in &report.checks {
        let _ = writeln!(
            out,
            "check {}: {}",
            c.name,
            if c.ok { "OK" } else { "FAILED" }
        );
        for l in &c.lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

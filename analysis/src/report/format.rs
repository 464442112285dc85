//! Human-readable units for report tables.

/// `1.5 GiB`, `12.0 MiB`, `512 B`, or `—` when unknown.
pub fn bytes(v: Option<f64>) -> String {
    let Some(v) = v else { return "—".to_owned() };
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = v;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `1h 02m 03s`, `4m 05s`, `12.3 s`, or `—` when unknown.
pub fn duration(v: Option<f64>) -> String {
    let Some(v) = v else { return "—".to_owned() };
    if v < 60.0 {
        return format!("{v:.1} s");
    }
    let total = v.round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 { format!("{h}h {m:02}m {s:02}s") } else { format!("{m}m {s:02}s") }
}

/// An integer count, or `—`.
pub fn count(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"))
}

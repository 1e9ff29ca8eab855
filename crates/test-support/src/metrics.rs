//! Reading a Prometheus text exposition (what both controllers serve at `/metrics`).

/// The value of metric `name` in `text`, summed over its label sets; 0 when absent.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.chars().next()? {
                ' ' => rest.trim(),
                '{' => rest.rsplit_once('}')?.1.trim(),
                _ => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

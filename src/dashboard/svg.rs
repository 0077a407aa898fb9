//! Charts drawn on the server as inline SVG: no script, no CDN, readable on a phone (they scale to
//! the width of the screen). Pure functions of their numbers.

use maud::{Markup, html};

/// One line of a line chart.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// CSS class of the stroke (`s0`, `s1`, ...).
    pub class: &'a str,
    /// Values; `NaN` breaks the line.
    pub values: &'a [f64],
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 8.0;
const PAD_T: f64 = 10.0;
const PAD_B: f64 = 22.0;

fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return None;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    Some((lo - pad, hi + pad))
}

/// A line chart over a shared x axis labelled by `x_labels` (first, middle, last shown).
pub fn lines(title: &str, x_labels: &[String], series: &[Series<'_>]) -> Markup {
    let n = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let Some((lo, hi)) = bounds(series.iter().flat_map(|s| s.values.iter().copied())) else {
        return html! { p.muted { (title) ": no data yet" } };
    };
    let x = |i: usize| PAD_L + (W - PAD_L - PAD_R) * if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 };
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v - lo) / (hi - lo));
    let paths: Vec<(String, &str)> = series
        .iter()
        .map(|s| {
            let mut d = String::new();
            let mut pen_up = true;
            for (i, v) in s.values.iter().enumerate() {
                if !v.is_finite() {
                    pen_up = true;
                    continue;
                }
                d.push_str(&format!("{}{:.1},{:.1} ", if pen_up { "M" } else { "L" }, x(i), y(*v)));
                pen_up = false;
            }
            (d, s.class)
        })
        .collect();
    let ticks = [lo + (hi - lo) * 0.05, (lo + hi) / 2.0, hi - (hi - lo) * 0.05];
    let label_at = [0, n.saturating_sub(1) / 2, n.saturating_sub(1)];
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) preserveAspectRatio="xMidYMid meet" {
                title { (title) }
                @for t in ticks {
                    line.grid x1=(PAD_L) x2=(W - PAD_R) y1=(format!("{:.1}", y(t))) y2=(format!("{:.1}", y(t))) {}
                    text.axis x=(PAD_L - 4.0) y=(format!("{:.1}", y(t) + 3.0)) text-anchor="end" { (format!("{t:.1}")) }
                }
                @for (k, i) in label_at.iter().enumerate() {
                    @if let Some(l) = x_labels.get(*i) {
                        text.axis x=(format!("{:.1}", x(*i))) y=(H - 6.0) text-anchor=(["start", "middle", "end"][k]) { (l) }
                    }
                }
                @for (d, class) in &paths {
                    path class=(format!("line {class}")) d=(d) {}
                }
            }
            figcaption {
                (title) " "
                @for s in series {
                    span class=(format!("key {}", s.class)) { (s.label) } " "
                }
            }
        }
    }
}

/// Vertical bars around zero (fold ICs, daily returns), labelled underneath.
pub fn bars(title: &str, labels: &[String], values: &[f64]) -> Markup {
    let Some((lo, hi)) = bounds(values.iter().copied().chain([0.0])) else {
        return html! { p.muted { (title) ": no data yet" } };
    };
    let n = values.len().max(1);
    let slot = (W - PAD_L - PAD_R) / n as f64;
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v - lo) / (hi - lo));
    let zero = y(0.0);
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                title { (title) }
                line.grid x1=(PAD_L) x2=(W - PAD_R) y1=(format!("{zero:.1}")) y2=(format!("{zero:.1}")) {}
                text.axis x=(PAD_L - 4.0) y=(format!("{:.1}", y(hi) + 8.0)) text-anchor="end" { (format!("{hi:.3}")) }
                text.axis x=(PAD_L - 4.0) y=(format!("{:.1}", y(lo))) text-anchor="end" { (format!("{lo:.3}")) }
                @for (i, v) in values.iter().enumerate() {
                    @let top = if *v >= 0.0 { y(*v) } else { zero };
                    @let h = (y(*v) - zero).abs().max(0.5);
                    rect class=(if *v >= 0.0 { "bar pos" } else { "bar neg" })
                        x=(format!("{:.1}", PAD_L + slot * i as f64 + slot * 0.15)) y=(format!("{top:.1}"))
                        width=(format!("{:.1}", slot * 0.7)) height=(format!("{h:.1}")) {
                        title { (labels.get(i).map(String::as_str).unwrap_or("")) ": " (format!("{v:.4}")) }
                    }
                    @if n <= 16 {
                        @if let Some(l) = labels.get(i) {
                            text.axis x=(format!("{:.1}", PAD_L + slot * (i as f64 + 0.5))) y=(H - 6.0) text-anchor="middle" { (l) }
                        }
                    }
                }
            }
            figcaption { (title) }
        }
    }
}

/// A heat map: `cells[row][col]` (NaN: no value), darker is higher; each cell has a tooltip.
pub fn heat_map(
    title: &str,
    row_label: &str,
    rows: &[String],
    col_label: &str,
    cols: &[String],
    cells: &[Vec<f64>],
) -> Markup {
    let Some((lo, hi)) = bounds(cells.iter().flatten().copied()) else {
        return html! { p.muted { (title) ": no data yet" } };
    };
    let shade = |v: f64| {
        if !v.is_finite() {
            return "#2a2f3a".to_string();
        }
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        // From a dim slate to the accent (indigo), through the lightness channel.
        format!("hsl(235,{:.0}%,{:.0}%)", 25.0 + 55.0 * t, 22.0 + 45.0 * t)
    };
    let cw = 56.0;
    let ch = 26.0;
    let left = 70.0;
    let top = 22.0;
    let w = left + cw * cols.len() as f64 + 4.0;
    let h = top + ch * rows.len() as f64 + 4.0;
    html! {
        figure.chart {
            svg.heat viewBox=(format!("0 0 {w} {h}")) width=(format!("{:.0}", w * 1.5)) height=(format!("{:.0}", h * 1.5)) role="img" aria-label=(title) {
                title { (title) }
                @for (j, c) in cols.iter().enumerate() {
                    text.axis x=(format!("{:.1}", left + cw * (j as f64 + 0.5))) y=(top - 6.0) text-anchor="middle" { (c) }
                }
                @for (i, r) in rows.iter().enumerate() {
                    text.axis x=(left - 4.0) y=(format!("{:.1}", top + ch * (i as f64 + 0.65))) text-anchor="end" { (r) }
                    @for (j, v) in cells.get(i).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
                        rect x=(format!("{:.1}", left + cw * j as f64)) y=(format!("{:.1}", top + ch * i as f64))
                            width=(cw - 2.0) height=(ch - 2.0) fill=(shade(*v)) {
                            title { (row_label) " " (r) ", " (col_label) " " (cols.get(j).map(String::as_str).unwrap_or("")) ": " (format!("{v:.3}")) }
                        }
                        text.cell x=(format!("{:.1}", left + cw * (j as f64 + 0.5) - 1.0)) y=(format!("{:.1}", top + ch * (i as f64 + 0.65)))
                            text-anchor="middle" { @if v.is_finite() { (format!("{v:.2}")) } @else { "–" } }
                    }
                }
            }
            figcaption { (title) ": rows " strong { (row_label) } ", columns " strong { (col_label) } " (low " (format!("{lo:.2}")) ", high " (format!("{hi:.2}")) ")" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_breaks_at_a_missing_value_and_labels_are_escaped() {
        let v = [1.0, 2.0, f64::NAN, 3.0];
        let html = lines(
            "NAV <rebased>",
            &["a".into(), "b".into(), "c".into(), "d".into()],
            &[Series { label: "<script>", class: "s0", values: &v }],
        )
        .into_string();
        let d = html.split(" d=\"").nth(1).and_then(|r| r.split('"').next()).expect("a path");
        assert_eq!(d.matches('M').count(), 2, "two pieces of line: {d}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    }

    #[test]
    fn empty_charts_say_so_instead_of_drawing_nothing() {
        assert!(lines("NAV", &[], &[]).into_string().contains("no data yet"));
        assert!(bars("IC", &[], &[]).into_string().contains("IC"));
        assert!(heat_map("sweep", "a", &[], "b", &[], &[]).into_string().contains("no data yet"));
    }
}

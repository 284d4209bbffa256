//! A feature's plane as a hand-written SVG scatter: points coloured by the variable's value
//! (hue = value / p, so a circle shows as a colour wheel when the feature is one).
//!
//! Output is deterministic: coordinates are rounded to 0.1 pixel, duplicate points (same pixel
//! and value) are drawn once, in first-seen order, and at most 4000 points are drawn.

use std::collections::BTreeSet;
use std::fmt::Write;

const SIZE: f64 = 420.0;
const MARGIN: f64 = 30.0;
const MAX_DRAWN: usize = 4000;

/// The SVG document for `points` with `values[i]` in `0..p`, titled `title` (escaped).
pub fn scatter(title: &str, points: &[[f64; 2]], values: &[usize], p: usize) -> String {
    let extent = points
        .iter()
        .flat_map(|q| [q[0].abs(), q[1].abs()])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let scale = (SIZE / 2.0 - MARGIN) / extent;
    let centre = SIZE / 2.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SIZE}\" height=\"{SIZE}\" viewBox=\"0 0 {SIZE} {SIZE}\">"
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        svg,
        "<line x1=\"{MARGIN}\" y1=\"{centre}\" x2=\"{}\" y2=\"{centre}\" stroke=\"#ccc\"/>",
        SIZE - MARGIN
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{centre}\" y1=\"{MARGIN}\" x2=\"{centre}\" y2=\"{}\" stroke=\"#ccc\"/>",
        SIZE - MARGIN
    );
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN}\" y=\"20\" font-family=\"sans-serif\" font-size=\"12\">{}</text>",
        escape(title)
    );
    let mut seen = BTreeSet::new();
    let mut drawn = 0;
    for (q, &v) in points.iter().zip(values) {
        if drawn >= MAX_DRAWN || !(q[0].is_finite() && q[1].is_finite()) {
            continue;
        }
        let x = ((centre + q[0] * scale) * 10.0).round() as i64;
        let y = ((centre - q[1] * scale) * 10.0).round() as i64;
        if !seen.insert((x, y, v)) {
            continue;
        }
        drawn += 1;
        let (r, g, b) = hue(v as f64 / p.max(1) as f64);
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            x as f64 / 10.0,
            y as f64 / 10.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Fully saturated colour of hue `h` in `[0, 1)`.
fn hue(h: f64) -> (u8, u8, u8) {
    let h6 = h.rem_euclid(1.0) * 6.0;
    let x = 1.0 - (h6 % 2.0 - 1.0).abs();
    let (r, g, b) = match h6 as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    let to = |c: f64| (c * 210.0).round() as u8;
    (to(r), to(g), to(b))
}

/// Escapes text for an SVG text node.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            c if c.is_control() => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_is_deterministic_and_escaped() {
        let pts = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]];
        let a = scatter("a<b & c", &pts, &[0, 1, 0], 3);
        assert_eq!(a, scatter("a<b & c", &pts, &[0, 1, 0], 3));
        assert!(a.contains("a&lt;b &amp; c"));
        assert_eq!(a.matches("<circle").count(), 2);
        assert!(a.starts_with("<svg") && a.ends_with("</svg>\n"));
    }
}

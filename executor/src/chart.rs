//! The EOD chart: the portfolio's cumulative return against the benchmark since inception, as a
//! PNG for the email (plotters, with an embedded DejaVu Sans so no system fonts are needed), and
//! its inline attachment ([`chart_image`], referenced by [`CHART_CID`]).

use std::sync::Once;

use ae_shared::mail::InlineImage;
use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// The chart's content id in the email.
pub const CHART_CID: &str = "equity-curve";

/// Wraps PNG bytes as the email's inline chart.
pub fn chart_image(png: Vec<u8>) -> InlineImage {
    InlineImage { cid: CHART_CID.into(), png }
}

/// Chart failures.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Drawing failed.
    #[error("drawing the chart: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the chart: {0}")]
    Encode(String),
}

/// One point: day, portfolio cumulative return, benchmark cumulative return (fractions).
pub type Point = (NaiveDate, f64, f64);

/// Pixel size.
pub const SIZE: (u32, u32) = (640, 320);

fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Renders the equity curve against the benchmark; PNG bytes.
pub fn equity_curve(points: &[Point], benchmark_name: &str) -> Result<Vec<u8>, ChartError> {
    REGISTER.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let (w, h) = SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let n = points.len().max(2);
        let pct = |x: f64| x * 100.0;
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for p in points {
            lo = lo.min(pct(p.1)).min(pct(p.2));
            hi = hi.max(pct(p.1)).max(pct(p.2));
        }
        let pad = ((hi - lo) * 0.1).max(0.5);
        let (lo, hi) = (lo - pad, hi + pad);
        let last = points.last();
        let caption = match last {
            Some(p) => format!(
                "Since {}: {:+.2}% vs {benchmark_name} {:+.2}%",
                points[0].0.format("%Y-%m-%d"),
                pct(p.1),
                pct(p.2)
            ),
            None => "No history yet".to_string(),
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .caption(caption, ("sans-serif", 17))
            .x_label_area_size(26)
            .y_label_area_size(52)
            .build_cartesian_2d(0usize..n - 1, lo..hi)
            .map_err(draw_err)?;
        let dates: Vec<NaiveDate> = points.iter().map(|p| p.0).collect();
        let fmt_x = |i: &usize| dates.get(*i).map(|d| d.format("%b %d").to_string()).unwrap_or_default();
        let fmt_y = |v: &f64| format!("{v:.1}%");
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(6)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(220, 220, 220))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(draw_err)?;
        chart.draw_series(LineSeries::new([(0, 0.0), (n - 1, 0.0)], RGBColor(150, 150, 150))).map_err(draw_err)?;
        let blue = RGBColor(31, 119, 180);
        let grey = RGBColor(110, 110, 110);
        chart
            .draw_series(LineSeries::new(points.iter().enumerate().map(|(i, p)| (i, pct(p.2))), grey.stroke_width(2)))
            .map_err(draw_err)?
            .label(benchmark_name.to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(points.iter().enumerate().map(|(i, p)| (i, pct(p.1))), blue.stroke_width(3)))
            .map_err(draw_err)?
            .label("Portfolio")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(3)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| ChartError::Encode(e.to_string()))?;
        writer.write_image_data(&rgb).map_err(|e| ChartError::Encode(e.to_string()))?;
    }
    Ok(png_bytes)
}

//! SVG charts of a bench summary: scaling by concurrency, and the end-to-end cells of v2 and v3 against their reqwest baselines.
//!
//! Drawn with plotters' SVG backend and no font backend (neither `ttf`,
//! which needs the system's fonts through font-kit, nor `ab_glyph`, which
//! needs a font file embedded): without one, plotters 0.3 sizes text with a
//! fixed estimate (its `naive` font module) and the SVG backend writes
//! plain `<text>` elements, so whatever displays the SVG picks the glyphs.
//! That estimate is why the label areas below are generous.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

/// The transports of the scaling chart, in legend order.
pub const SCALING_TRANSPORTS: [&str; 3] = ["hyper", "surf", "blocking"];
/// The concurrency levels the scaling chart can show (its x axis).
pub const SCALING_LEVELS: [u32; 5] = [1, 4, 16, 64, 256];

/// The four end-to-end cells: summary field and label.
const CELLS: [(&str, &str); 4] = [
    ("uploads_per_s_10kib", "10 KiB c=1"),
    ("uploads_per_s_10kib_c16", "10 KiB c=16"),
    ("uploads_per_s_2mib", "2 MiB c=1"),
    ("uploads_per_s_2mib_c16", "2 MiB c=16"),
];

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

const FONT: &str = "sans-serif";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draw `scaling.svg`, `e2e_v2.svg` and `e2e_v3.svg` into `dir` from a
/// summary as the bench writes it. A chart whose data the summary lacks
/// is an error, not an empty picture.
pub fn draw_all(summary: &Value, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let quick = if summary["quick"].as_bool() == Some(true) {
        " (quick run)"
    } else {
        ""
    };
    let scaling = dir.join("scaling.svg");
    draw_scaling(&summary["scaling"], &scaling, quick)?;
    let v2 = dir.join("e2e_v2.svg");
    draw_e2e(
        &summary["e2e"],
        &[
            "hyper",
            "surf",
            "blocking",
            "hyper_aws_lc_rs",
            "surf_aws_lc_rs",
            "blocking_aws_lc_rs",
            "reqwest_baseline_ring",
        ],
        &format!("End to end, v2 (mutual TLS): uploads/s relative to reqwest_baseline{quick}"),
        &v2,
    )?;
    let v3 = dir.join("e2e_v3.svg");
    draw_e2e(
        &summary["e2e_v3"],
        &[
            "hyper",
            "surf",
            "blocking",
            "hyper_aws_lc_rs",
            "surf_aws_lc_rs",
            "blocking_aws_lc_rs",
        ],
        &format!("End to end, v3 (RSA signatures): uploads/s relative to reqwest_baseline{quick}"),
        &v3,
    )?;
    Ok(vec![scaling, v2, v3])
}

/// uploads/s against concurrency on a log2 axis, one line per transport.
fn draw_scaling(scaling: &Value, path: &Path, quick: &str) -> Result<(), String> {
    // (transport, [(log2 of the level, uploads/s)]) for the levels measured.
    let mut series = Vec::new();
    let mut top: f64 = 0.0;
    for name in SCALING_TRANSPORTS {
        let points: Vec<(f64, f64)> = SCALING_LEVELS
            .iter()
            .filter_map(|&c| {
                let rate = scaling[name][format!("c{c}")].as_f64()?;
                top = top.max(rate);
                Some((f64::from(c).log2(), rate))
            })
            .collect();
        if points.is_empty() {
            return Err(format!("the summary has no scaling figures for {name}"));
        }
        series.push((name, points));
    }
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("10 KiB uploads/s by concurrency, warm pools{quick}"),
            (FONT, 22),
        )
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(80)
        // x is log2 of the concurrency, so 1, 4, 16, 64, 256 are evenly
        // spaced; headroom above the highest point keeps the legend clear.
        .build_cartesian_2d(-0.3f64..8.3f64, 0f64..top * 1.35)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(9)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 && *x >= 0.0 {
                format!("{}", 1u32 << (x.round() as u32))
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("concurrent uploads (log2 scale)")
        .y_desc("uploads/s")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in series.into_iter().enumerate() {
        let color = COLORS[i];
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// The chart [`draw_e2e`] draws on: cells along x, ratios along y.
type E2eChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Grouped bars: for each cell, each client's uploads/s divided by the
/// reqwest baseline's in the same cell (10 KiB and 2 MiB rates differ by
/// about 50x, so ratios share one axis where rates could not), with a
/// dashed line at 1.0 and the baseline's own rate under each group.
fn draw_e2e(e2e: &Value, clients: &[&str], title: &str, path: &Path) -> Result<(), String> {
    let base = &e2e["reqwest_baseline"];
    let (ratios, top) = ratios_to_baseline(e2e, clients)?;
    let root = SVGBackend::new(path, (1280, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(80)
        // Headroom above the tallest bar for the legend in the corner.
        .build_cartesian_2d(0f64..CELLS.len() as f64, 0f64..top * 1.6)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|y| format!("{y:.1}"))
        .y_desc("uploads/s ÷ reqwest_baseline (higher is faster)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    draw_bars(&mut chart, clients, &ratios)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (CELLS.len() as f64, 1.0)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?
        .label("reqwest_baseline = 1.0")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
    draw_cell_labels(&root, &chart, base)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// [client][cell] = the client's uploads/s over the baseline's, and the
/// largest of them (at least 1.0, so the baseline's line is on the chart).
fn ratios_to_baseline(e2e: &Value, clients: &[&str]) -> Result<(Vec<Vec<f64>>, f64), String> {
    let base = &e2e["reqwest_baseline"];
    let mut ratios = Vec::new();
    let mut top: f64 = 1.0;
    for client in clients {
        let mut row = Vec::new();
        for (field, label) in CELLS {
            let (Some(rate), Some(b)) = (e2e[*client][field].as_f64(), base[field].as_f64()) else {
                return Err(format!("the summary has no {label} figure for {client}"));
            };
            let r = rate / b;
            top = top.max(r);
            row.push(r);
        }
        ratios.push(row);
    }
    Ok((ratios, top))
}

/// One bar per client in each cell's group, each with its legend entry.
fn draw_bars(
    chart: &mut E2eChart<'_, '_>,
    clients: &[&str],
    ratios: &[Vec<f64>],
) -> Result<(), String> {
    let width = 0.8 / clients.len() as f64;
    for (j, (client, row)) in clients.iter().zip(ratios).enumerate() {
        let color = COLORS[j];
        chart
            .draw_series(row.iter().enumerate().map(|(cell, &r)| {
                let x0 = cell as f64 + 0.1 + j as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.9, r)], color.filled())
            }))
            .map_err(err)?
            .label(*client)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        // The ratio above each bar, so the chart can be read without a ruler.
        chart
            .draw_series(row.iter().enumerate().map(|(cell, &r)| {
                let x = cell as f64 + 0.1 + (j as f64 + 0.45) * width;
                Text::new(
                    format!("{r:.2}"),
                    (x, r),
                    (FONT, 12)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(err)?;
    }
    Ok(())
}

/// Cell names and the baseline's rate under each group, in pixels: the x
/// axis has no labels of its own, as its coordinates are not cells.
fn draw_cell_labels(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &E2eChart<'_, '_>,
    base: &Value,
) -> Result<(), String> {
    let label_style = (FONT, 15)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (cell, (field, label)) in CELLS.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(cell as f64 + 0.5, 0.0));
        let b = base[*field].as_f64().unwrap_or(0.0);
        let rate = if b >= 100.0 {
            format!("{b:.0}/s")
        } else {
            format!("{b:.1}/s")
        };
        root.draw(&Text::new(
            label.to_string(),
            (x, y + 8),
            label_style.clone(),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            format!("baseline {rate}"),
            (x, y + 28),
            label_style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cell(x: f64) -> Value {
        json!({
            "uploads_per_s_10kib": 5000.0 * x, "uploads_per_s_10kib_c16": 12000.0 * x,
            "uploads_per_s_2mib": 130.0 * x, "uploads_per_s_2mib_c16": 210.0 * x,
        })
    }

    /// The charts are written, hold their labels as text, and refuse a
    /// summary without the figures (made-up figures: a test of drawing, not
    /// a measurement).
    #[test]
    fn charts_hold_their_labels_and_missing_data_is_an_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let levels =
            json!({"c1": 5000.0, "c4": 9000.0, "c16": 12000.0, "c64": 11000.0, "c256": 10000.0});
        let e2e: serde_json::Map<String, Value> = [
            "hyper",
            "surf",
            "blocking",
            "hyper_aws_lc_rs",
            "surf_aws_lc_rs",
            "blocking_aws_lc_rs",
            "reqwest_baseline",
            "reqwest_baseline_ring",
            "curl",
        ]
        .iter()
        .map(|&c| {
            let x = if c == "reqwest_baseline" { 1.0 } else { 1.1 };
            (c.to_string(), cell(x))
        })
        .collect();
        let summary = json!({
            "quick": true,
            "scaling": {"hyper": levels, "surf": levels, "blocking": levels},
            "e2e": e2e, "e2e_v3": e2e,
        });
        let files = draw_all(&summary, dir.path()).unwrap();
        let scaling = std::fs::read_to_string(&files[0]).unwrap();
        for text in ["uploads/s", "hyper", "surf", "blocking", "256", "64", "16"] {
            assert!(scaling.contains(text), "{text}");
        }
        let v2 = std::fs::read_to_string(&files[1]).unwrap();
        for text in [
            "10 KiB c=16",
            "2 MiB c=1",
            "hyper_aws_lc_rs",
            "baseline 130/s",
            "1.10",
        ] {
            assert!(v2.contains(text), "{text}");
        }
        let mut partial = summary.clone();
        partial["e2e_v3"]["surf"] = json!({});
        assert!(draw_all(&partial, dir.path()).is_err());
    }
}

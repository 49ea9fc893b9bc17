//! The tracer's drawing on plain frames: where the line lands, what the dashes and the label
//! touch, the still's size budget and the clip's frames.

use image::{Rgb, RgbImage};
use tracer::draw::{draw_flight, draw_label, Style};
use tracer::{render_still, ClipPlan, Flight, FlightPoint, TracerClip, STILL_MAX_BYTES};

/// A ballistic-looking arc: launched at (200, 600) from frame 10, 8 px a frame right, rising.
fn arc(n: usize) -> Vec<FlightPoint> {
    (1..=n)
        .map(|i| {
            let t = i as f64;
            FlightPoint { frame: 10.0 + t, x: 200.0 + 8.0 * t, y: 600.0 - 9.0 * t + 0.12 * t * t }
        })
        .collect()
}

fn flight() -> Flight {
    let measured = arc(30);
    let last = *measured.last().expect("points");
    let extrapolated = (0..40)
        .map(|i| {
            let t = 30.0 + i as f64;
            FlightPoint { frame: 10.0 + t, x: 200.0 + 8.0 * t, y: 600.0 - 9.0 * t + 0.12 * t * t }
        })
        .take_while(|p| p.x < 1280.0)
        .collect::<Vec<_>>();
    assert_eq!(extrapolated[0], last);
    Flight { launch: FlightPoint { frame: 10.0, x: 200.0, y: 600.0 }, measured, extrapolated }
}

fn grass() -> RgbImage {
    RgbImage::from_fn(1280, 720, |x, y| Rgb([40 + (x % 7) as u8, 120 + (y % 5) as u8, 50]))
}

fn changed(a: &RgbImage, b: &RgbImage) -> Vec<(u32, u32)> {
    a.enumerate_pixels()
        .filter(|(x, y, p)| {
            let q = b.get_pixel(*x, *y);
            p.0.iter().zip(q.0).map(|(u, v)| u.abs_diff(v) as u32).sum::<u32>() > 60
        })
        .map(|(x, y, _)| (x, y))
        .collect()
}

/// Whether a pixel of the line colour lies within `r` px of (x, y).
fn red_near(img: &RgbImage, x: f64, y: f64, r: f64) -> bool {
    let (x0, y0) = ((x - r).floor().max(0.0) as u32, (y - r).floor().max(0.0) as u32);
    (x0..=(x + r).ceil() as u32).any(|px| {
        (y0..=(y + r).ceil() as u32).any(|py| {
            let d = (f64::from(px) - x).hypot(f64::from(py) - y);
            let p = img.get_pixel(px.min(img.width() - 1), py.min(img.height() - 1));
            d <= r && p[0] > 200 && p[1] < 110 && p[2] < 110
        })
    })
}

#[test]
fn the_line_passes_through_every_measured_point_and_stays_near_the_path() {
    let base = grass();
    let mut img = base.clone();
    let f = flight();
    draw_flight(&mut img, &f, f64::INFINITY, &Style::for_frame(1280, 720));
    for p in &f.measured {
        assert!(red_near(&img, p.x, p.y, 1.0), "line at frame {} ({:.0}, {:.0})", p.frame, p.x, p.y);
    }
    // Every changed pixel is on the line (its width, the shadow and the launch ring), never far.
    let path: Vec<&FlightPoint> = std::iter::once(&f.launch).chain(&f.measured).chain(&f.extrapolated).collect();
    let style = Style::for_frame(1280, 720);
    let reach = f64::from(style.line_px * 2.2).max(5.0) + f64::from(style.line_px) + 3.0;
    for (x, y) in changed(&base, &img) {
        let d = path.iter().map(|p| (p.x - f64::from(x)).hypot(p.y - f64::from(y))).fold(f64::INFINITY, f64::min);
        assert!(d <= reach + 8.0, "pixel ({x}, {y}) is {d:.1} px from the path");
    }
}

#[test]
fn the_line_grows_with_the_frame_and_the_dashes_leave_gaps() {
    let f = flight();
    let style = Style::for_frame(1280, 720);
    let mut at_20 = grass();
    draw_flight(&mut at_20, &f, 20.0, &style);
    let head = f.measured.iter().find(|p| p.frame == 20.0).expect("frame 20");
    let later = f.measured.iter().find(|p| p.frame == 30.0).expect("frame 30");
    assert!(red_near(&at_20, head.x, head.y, 1.0), "drawn up to the ball");
    assert!(!red_near(&at_20, later.x, later.y, 6.0), "not past it");
    let mut before = grass();
    draw_flight(&mut before, &f, 9.0, &style);
    assert_eq!(before, grass(), "nothing before the launch");
    // Along the dashed part, some samples are on a dash and some in a gap.
    let mut all = grass();
    draw_flight(&mut all, &f, f64::INFINITY, &style);
    let on: Vec<bool> = f.extrapolated[2..].iter().map(|p| red_near(&all, p.x, p.y, 0.8)).collect();
    assert!(on.iter().any(|b| *b) && on.iter().any(|b| !*b), "dashed: {on:?}");
}

#[test]
fn the_label_goes_where_the_flight_is_not() {
    let style = Style::for_frame(1280, 720);
    let base = grass();
    let mut img = base.clone();
    // Points all over the bottom-left corner: the label moves to the bottom-right.
    let avoid: Vec<FlightPoint> = (0..20).map(|i| FlightPoint { frame: 0.0, x: 20.0 * i as f64, y: 700.0 }).collect();
    draw_label(&mut img, "Ball 152 km/h", &avoid, &style);
    let px = changed(&base, &img);
    assert!(!px.is_empty());
    assert!(px.iter().all(|(x, y)| *x > 640 && *y > 500), "bottom right");
    // White text pixels are there, on a darkened box.
    assert!(px.iter().any(|(x, y)| img.get_pixel(*x, *y).0.iter().all(|v| *v > 220)));
}

#[test]
fn on_a_narrow_frame_the_label_shrinks_to_fit() {
    let (w, h) = (320, 240);
    let base = RgbImage::from_pixel(w, h, Rgb([40, 120, 50]));
    let mut img = base.clone();
    draw_label(&mut img, "Ball 152 km/h \u{b7} Launch 12.5\u{b0} \u{b7} Carry 182 m", &[], &Style::for_frame(w, h));
    let px = changed(&base, &img);
    let (left, right) = (px.iter().map(|p| p.0).min(), px.iter().map(|p| p.0).max());
    assert!(left.is_some_and(|l| l > 0) && right.is_some_and(|r| r < w - 1), "inside: {left:?}..{right:?}");
}

#[test]
fn a_1080p_still_of_a_busy_frame_fits_the_budget() {
    // Turf: a gradient with strong pixel noise (a phone's grass at 1080p).
    let mut seed = 7u32;
    let mut noise = move |amplitude: u32| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((seed >> 16) % amplitude) as u8
    };
    let turf = RgbImage::from_fn(1920, 1080, |x, y| {
        let n = noise(40);
        Rgb([30 + n + (y / 40) as u8, 90 + n + (x / 60) as u8, 30 + n / 2])
    });
    let jpeg = render_still(turf, &flight().scaled(1.5), Some("Ball 152 km/h")).expect("still");
    assert!(jpeg.len() <= STILL_MAX_BYTES, "{} bytes", jpeg.len());
    let back = image::load_from_memory(&jpeg).expect("decodes");
    assert_eq!((back.width(), back.height()), (1920, 1080));
    // Pure noise is the worst case for JPEG: quality steps down, then the picture shrinks.
    let static_ = RgbImage::from_fn(1920, 1080, |_, _| Rgb([noise(256), noise(256), noise(256)]));
    let jpeg = render_still(static_, &flight(), None).expect("still");
    assert!(jpeg.len() <= STILL_MAX_BYTES, "{} bytes", jpeg.len());
    // A 4K frame is stored at 1080p.
    let big = render_still(RgbImage::new(3840, 2160), &flight(), None).expect("still");
    assert_eq!(image::load_from_memory(&big).expect("decodes").width(), 1920);
}

#[test]
fn the_plan_spans_half_a_second_each_side_within_the_clip() {
    let f = flight();
    let plan = ClipPlan::new(&f, 60.0, 1000).expect("plan");
    // Launch at 10 - 30 frames: clamped to 0. The dashed path ends at frame 10 + 30 + 38 = 78,
    // within a second of the last measured point (40); + 30 frames.
    let end = f.extrapolated.last().expect("dashes").frame;
    assert_eq!((plan.first, plan.last), (0, (end + 30.0).ceil() as usize));
    assert_eq!(ClipPlan::new(&f, 60.0, 50).expect("short clip").last, 49);
    // At 240 fps: 120 frames of lead (clamped) and the extrapolation capped at 240 frames.
    let shift = |p: &FlightPoint| FlightPoint { frame: p.frame + 490.0, ..*p };
    let late = Flight {
        launch: shift(&f.launch),
        measured: f.measured.iter().map(shift).collect(),
        extrapolated: f.extrapolated.iter().map(shift).collect(),
    };
    let p = ClipPlan::new(&late, 240.0, 10_000).expect("plan");
    assert_eq!(p.first, 380);
    assert!(ClipPlan::new(&f, 0.0, 100).is_none());
}

#[test]
fn a_clip_takes_exactly_its_planned_frames() {
    let f = flight();
    let plan = ClipPlan { first: 5, last: 14, fps: 30.0, flight_end: 12.0 };
    let mut clip = TracerClip::new(plan, &f, Some("Ball 1 km/h".into()), 640, 360).expect("clip");
    assert!(clip.push(RgbImage::new(320, 180)).is_err(), "wrong size");
    for _ in plan.frames() {
        clip.push(RgbImage::new(640, 360)).expect("pushed");
    }
    assert!(clip.push(RgbImage::new(640, 360)).is_err(), "one too many");
    let mp4 = clip.finish().expect("mp4");
    assert!(mp4.len() > 1000 && &mp4[4..8] == b"ftyp");
}

//! Native-resolution crops around the ball's track (docs/ARCHITECTURE.md, "Small balls"): which
//! frames get a second look, where the crop window sits, and how its detections merge with the
//! full-frame ones. Pure functions; `job` runs the detector on the crops.
//!
//! Letterboxing a 1280x720 frame to a 640 input halves the ball: a 12 px ball becomes 6 px, where
//! the detectors lose most of their recall. A 640x640 window cut from the frame at full resolution
//! shows the same ball at 12 px, so once the full-frame pass has found the ball somewhere, the frames
//! where it matters (the launch, and every frame the track is missing) are looked at again through a
//! window centred on the track, extrapolated past its end by constant velocity. The window is wide
//! (±320 px around the prediction), so the prediction can be rough. Detections of a round feed the
//! next round's plan, so a flight the full frame lost can be followed out of the window of the last.

use std::collections::BTreeSet;

use models::{BBox, Class, Detection};

use crate::frames::DecodedFrame;
use crate::pipeline::kinematics::{split_rest, LAUNCH_WINDOW};
use crate::pipeline::tracking::{dist, track_ball, Gate, TrackPoint};

/// Frames whose long side is at least this many model inputs get crops; below it a crop would show
/// the ball barely larger than the letterboxed frame does.
pub const MIN_SCALE: f64 = 1.5;
/// At most this many crops per analysis: the worst case costs a fifth of a 300-frame video's
/// full-frame pass.
pub const MAX_CROPS: usize = 64;
/// Plan, detect, merge at most this many times.
pub const ROUNDS: usize = 3;
/// Frames looked at before a flight's first point (a launch the full frame missed).
const LEAD_FRAMES: usize = 4;
/// Frames looked at after the track's last point, by constant velocity.
const EXTEND_FRAMES: usize = 8;
/// Frames of the flight always looked at again: launch speed and angle come from them.
const LAUNCH_FRAMES: usize = LAUNCH_WINDOW + 2;

/// One crop: frame `frame`, the window `[x, x + width) x [y, y + height)` in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropWindow {
    /// Frame index.
    pub frame: usize,
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Frames whose long side is at least this many model inputs (1920x1080 and up for the 640
/// models) also get native windows in the launch search: there a 14 px ball is under 5 px
/// letterboxed, where the watch never finds it at rest. At 720p the letterboxed frame finds the
/// ball at rest, and windows there only moved the rest by a pixel and cost confidence (measured on
/// the launch grid).
pub const SEARCH_SCALE: f64 = 2.5;

/// Whether the launch search of frames this size looks through native windows too.
pub fn worth_searching_natively(width: u32, height: u32, side: u32) -> bool {
    side > 0 && f64::from(width.max(height)) >= SEARCH_SCALE * f64::from(side)
}

/// Whether frames of this size are worth cropping for a model with input side `side`.
pub fn worth_cropping(width: u32, height: u32, side: u32) -> bool {
    side > 0 && f64::from(width.max(height)) >= MIN_SCALE * f64::from(side)
}

/// The crops of one round: frames not in `done`, in ascending order, at most `budget` of them.
pub fn plan(
    frames: &[Vec<Detection>],
    (width, height): (u32, u32),
    side: u32,
    done: &BTreeSet<usize>,
    budget: usize,
) -> Vec<CropWindow> {
    let gate = Gate::default();
    let track = track_ball(frames, &gate);
    let (Some(first), Some(last)) = (track.first().copied(), track.last().copied()) else {
        return Vec::new();
    };
    let moving = dist(first.x, first.y, last.x, last.y) >= gate.moving_px;
    let (rest, flight) = split_rest(&track);
    // Where the interest starts: the last frame on the tee, else just before a moving track, else
    // (a ball seen only at rest) its last sighting, after which it may have flown unseen.
    let start = match (rest.last(), moving) {
        (Some(tee), _) => tee.frame,
        (None, true) => first.frame.saturating_sub(LEAD_FRAMES),
        (None, false) => last.frame + 1,
    };
    let end = (last.frame + EXTEND_FRAMES).min(frames.len().saturating_sub(1));
    let launch_end = flight.iter().find(|p| !p.interpolated).map_or(start, |p| p.frame + LAUNCH_FRAMES);
    let velocity = end_velocity(if moving { flight } else { &[] });
    let mut out = Vec::new();
    for i in start..=end {
        if out.len() >= budget {
            break;
        }
        let detected = track.iter().any(|p| p.frame == i && !p.interpolated);
        if done.contains(&i) || (detected && i >= launch_end) {
            continue;
        }
        let (cx, cy) = match track.iter().find(|p| p.frame == i) {
            Some(p) => (p.x, p.y),
            None if i < first.frame => (first.x, first.y),
            None => {
                let ahead = i.saturating_sub(last.frame) as f64;
                (last.x + velocity.0 * ahead, last.y + velocity.1 * ahead)
            }
        };
        if !(0.0..f64::from(width)).contains(&cx) || !(0.0..f64::from(height)).contains(&cy) {
            continue;
        }
        out.push(window(i, cx, cy, (width, height), side));
    }
    out
}

/// Pixels per frame over the last two detected points of a flight (zero when there are none).
fn end_velocity(flight: &[TrackPoint]) -> (f64, f64) {
    let mut detected = flight.iter().rev().filter(|p| !p.interpolated);
    match (detected.next(), detected.next()) {
        (Some(b), Some(a)) if b.frame > a.frame => {
            let dt = (b.frame - a.frame) as f64;
            ((b.x - a.x) / dt, (b.y - a.y) / dt)
        }
        _ => (0.0, 0.0),
    }
}

/// Windows of `side` x `side` that cover the whole frame, evenly overlapping: 3 x 2 for 1920x1080
/// at 640. How the launch search looks for a ball at rest too small for the letterboxed frame.
pub fn tiles(frame: usize, (width, height): (u32, u32), side: u32) -> Vec<CropWindow> {
    let starts = |total: u32| -> Vec<u32> {
        let len = side.min(total);
        let n = total.div_ceil(len.max(1)).max(1);
        if n == 1 {
            return vec![0];
        }
        (0..n).map(|k| ((u64::from(total - len) * u64::from(k)) / u64::from(n - 1)) as u32).collect()
    };
    let (w, h) = (side.min(width), side.min(height));
    starts(height)
        .into_iter()
        .flat_map(|y| starts(width).into_iter().map(move |x| CropWindow { frame, x, y, width: w, height: h }))
        .collect()
}

/// The `side` x `side` window (smaller where the frame is) centred on `(cx, cy)`, kept inside the
/// frame.
pub fn window(frame: usize, cx: f64, cy: f64, (width, height): (u32, u32), side: u32) -> CropWindow {
    let (w, h) = (side.min(width), side.min(height));
    let place =
        |c: f64, len: u32, total: u32| (c - f64::from(len) / 2.0).round().clamp(0.0, f64::from(total - len)) as u32;
    CropWindow { frame, x: place(cx, w, width), y: place(cy, h, height), width: w, height: h }
}

/// The window's pixels as a frame of their own; `None` when the window does not fit the frame
/// (a frame read again at another size than the first time).
pub fn crop(frame: &DecodedFrame, c: &CropWindow) -> Option<DecodedFrame> {
    if c.x + c.width > frame.width || c.y + c.height > frame.height {
        return None;
    }
    let (fw, x, w) = (frame.width as usize, c.x as usize, c.width as usize);
    let mut rgb = Vec::with_capacity(w * c.height as usize * 3);
    for row in c.y as usize..(c.y + c.height) as usize {
        let start = (row * fw + x) * 3;
        rgb.extend_from_slice(frame.rgb.get(start..start + w * 3)?);
    }
    Some(DecodedFrame { name: format!("{}#crop", frame.name), width: c.width, height: c.height, rgb })
}

/// Merges a crop's detections (window coordinates) into its frame's full-frame detections.
///
/// The crop's ball detections are the same scene seen at twice the pixels: each replaces the
/// full-frame ball detection it overlaps, and a ball the full frame missed is added. A ball cut by
/// the window's edge (inside the frame) is left to the full frame, which saw it whole; so are
/// club heads, which are large enough at any scale and often larger than the window's reach.
pub fn merge(full: &mut Vec<Detection>, c: &CropWindow, (width, height): (u32, u32), crop_detections: Vec<Detection>) {
    let (x0, y0) = (c.x as f32, c.y as f32);
    let (x1, y1) = ((c.x + c.width) as f32, (c.y + c.height) as f32);
    let margin = 2.0;
    let balls: Vec<Detection> = crop_detections
        .into_iter()
        .filter(|d| d.class == Class::GolfBall)
        .map(|d| Detection { bbox: BBox::new(d.bbox.x1 + x0, d.bbox.y1 + y0, d.bbox.x2 + x0, d.bbox.y2 + y0), ..d })
        .filter(|d| {
            let cut = |v: f32, edge: f32, frame_edge: f32| (v - edge).abs() <= margin && edge != frame_edge;
            !(cut(d.bbox.x1, x0, 0.0)
                || cut(d.bbox.y1, y0, 0.0)
                || cut(d.bbox.x2, x1, width as f32)
                || cut(d.bbox.y2, y1, height as f32))
        })
        .collect();
    full.retain(|d| d.class != Class::GolfBall || !balls.iter().any(|b| same_ball(b, d)));
    full.extend(balls);
}

/// Two boxes of one ball: centres closer than the larger box's half side.
fn same_ball(a: &Detection, b: &Detection) -> bool {
    let ((ax, ay), (bx, by)) = (a.bbox.center(), b.bbox.center());
    let reach = a.bbox.width().max(a.bbox.height()).max(b.bbox.width()).max(b.bbox.height()) / 2.0;
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt() <= reach.max(3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball(x: f32, y: f32, d: f32) -> Detection {
        Detection { class: Class::GolfBall, score: 0.7, bbox: BBox::from_center(x, y, d, d) }
    }

    const HD: (u32, u32) = (1280, 720);

    #[test]
    fn tiles_cover_the_frame_with_model_sized_windows() {
        let t = tiles(7, (1920, 1080), 640);
        assert_eq!(t.len(), 6);
        assert!(t.iter().all(|c| c.frame == 7 && c.width == 640 && c.height == 640));
        assert!(t.iter().all(|c| c.x + c.width <= 1920 && c.y + c.height <= 1080));
        for (x, y) in [(0, 0), (1919, 1079), (960, 540), (639, 1079), (1280, 0)] {
            assert!(t.iter().any(|c| (c.x..c.x + 640).contains(&x) && (c.y..c.y + 640).contains(&y)), "({x}, {y})");
        }
        assert_eq!(tiles(0, (1280, 720), 640).len(), 4);
        assert_eq!(tiles(0, (640, 360), 640).len(), 1);
    }

    #[test]
    fn only_frames_well_above_the_model_input_are_cropped() {
        assert!(worth_cropping(1280, 720, 640));
        assert!(worth_cropping(960, 540, 640));
        assert!(!worth_cropping(640, 360, 640));
        assert!(!worth_cropping(800, 600, 640));
    }

    #[test]
    fn windows_follow_the_track_stay_inside_the_frame_and_skip_frames_already_seen_well() {
        // Teed at (100, 600) for frames 0-9, then a flight of 30 px/frame right and 10 up, seen in
        // frames 10-29 except 20-21; nothing after.
        let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![ball(100.0, 600.0, 12.0)]).collect();
        for k in 1..=20 {
            let d = if (11..=12).contains(&k) {
                vec![]
            } else {
                vec![ball(100.0 + 30.0 * k as f32, 600.0 - 10.0 * k as f32, 12.0)]
            };
            frames.push(d);
        }
        frames.extend((0..20).map(|_| Vec::new()));
        let crops = plan(&frames, HD, 640, &BTreeSet::new(), MAX_CROPS);
        let idx: Vec<usize> = crops.iter().map(|c| c.frame).collect();
        // The tee and the flight are two tracks (the jump at launch is outside the gate): 4 frames
        // before the flight, its launch frames, the two missing ones, and 8 past the end.
        assert_eq!(idx.first(), Some(&6));
        assert_eq!(idx.len(), 16 + 8, "{idx:?}");
        assert!(idx.contains(&20) && idx.contains(&21), "{idx:?}");
        assert!(!idx.contains(&25), "a detected frame after the launch window: {idx:?}");
        assert_eq!(idx.last(), Some(&37), "{idx:?}");
        for c in &crops {
            assert_eq!((c.width, c.height), (640, 640));
            assert!(c.x + c.width <= 1280 && c.y + c.height <= 720, "{c:?}");
        }
        // Frame 33 is extrapolated: (100 + 30*24, 600 - 10*24) = (820, 360), centred in x.
        let c33 = crops.iter().find(|c| c.frame == 33).expect("frame 33");
        assert_eq!((c33.x, c33.y), (500, 40));
        // Done frames are not planned again, and the budget holds.
        let done: BTreeSet<usize> = idx.iter().copied().collect();
        assert!(plan(&frames, HD, 640, &done, MAX_CROPS).is_empty());
        assert_eq!(plan(&frames, HD, 640, &BTreeSet::new(), 3).len(), 3);
    }

    #[test]
    fn a_ball_seen_only_on_the_tee_gets_windows_after_its_last_sighting() {
        let mut frames: Vec<Vec<Detection>> = (0..12).map(|_| vec![ball(300.0, 500.0, 14.0)]).collect();
        frames.extend((0..30).map(|_| Vec::new()));
        let idx: Vec<usize> = plan(&frames, HD, 640, &BTreeSet::new(), MAX_CROPS).iter().map(|c| c.frame).collect();
        assert_eq!(idx, (12..=19).collect::<Vec<_>>());
        assert!(plan(&vec![Vec::new(); 10], HD, 640, &BTreeSet::new(), MAX_CROPS).is_empty(), "no ball, no crops");
    }

    #[test]
    fn crop_copies_the_window_pixels() {
        let (w, h) = (8u32, 6u32);
        let rgb: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, (i * 2) as u8, 7]).collect();
        let f = DecodedFrame { name: "f".into(), width: w, height: h, rgb };
        let c = CropWindow { frame: 0, x: 3, y: 2, width: 4, height: 3 };
        let out = crop(&f, &c).expect("fits");
        assert_eq!((out.width, out.height, out.rgb.len()), (4, 3, 36));
        // Window pixel (0, 0) is frame pixel (3, 2) = index 19; (3, 2) is (6, 4) = 38.
        assert_eq!(&out.rgb[..3], &[19, 38, 7]);
        assert_eq!(&out.rgb[33..], &[38, 76, 7]);
        assert!(crop(&f, &CropWindow { x: 5, ..c }).is_none(), "past the right edge");
        let short = DecodedFrame { rgb: f.rgb[..60].to_vec(), ..f };
        assert!(crop(&short, &c).is_none(), "a buffer shorter than its size says");
    }

    #[test]
    fn crop_balls_replace_the_ones_they_overlap_and_cut_balls_and_heads_are_left_out() {
        let c = CropWindow { frame: 0, x: 400, y: 80, width: 640, height: 640 };
        let head = Detection { class: Class::ClubHead, score: 0.9, bbox: BBox::new(500.0, 500.0, 600.0, 560.0) };
        let mut full = vec![ball(700.0, 300.0, 12.0), ball(100.0, 100.0, 12.0), head];
        let crop_dets = vec![
            // The full frame's ball at (700, 300), sharper: (300.5, 220.5) in the window.
            Detection { class: Class::GolfBall, score: 0.9, bbox: BBox::from_center(300.5, 220.5, 11.0, 11.0) },
            // A ball the full frame missed.
            ball(50.0, 50.0, 10.0),
            // A ball cut by the window's left edge (x 400 is inside the frame).
            Detection { class: Class::GolfBall, score: 0.8, bbox: BBox::new(0.5, 300.0, 6.0, 312.0) },
            // A ball touching the window's bottom edge, which is the frame's: kept.
            Detection { class: Class::GolfBall, score: 0.6, bbox: BBox::new(200.0, 630.0, 210.0, 640.0) },
            Detection { class: Class::ClubHead, score: 0.9, bbox: BBox::new(10.0, 10.0, 90.0, 60.0) },
        ];
        merge(&mut full, &c, HD, crop_dets);
        let balls: Vec<(f32, f32)> =
            full.iter().filter(|d| d.class == Class::GolfBall).map(|d| d.bbox.center()).collect();
        assert_eq!(balls, vec![(100.0, 100.0), (700.5, 300.5), (450.0, 130.0), (605.0, 715.0)]);
        assert_eq!(full.iter().filter(|d| d.class == Class::ClubHead).count(), 1, "the full frame's head only");
        assert!(full.iter().any(|d| d.class == Class::GolfBall && d.score == 0.9), "the sharper score kept");
    }
}

//! From tracks to shot metrics: pixel scale, smoothing, robust velocity, launch angle, impact frame,
//! club speed and carry.
//!
//! Conventions: image x to the right, image y down; velocities are reported with y up (so a rising
//! ball has positive vy). Launch is measured against the horizontal whichever way the ball travels
//! across the frame. A single side-on camera cannot see the side angle, so it is `None` unless a
//! calibration says otherwise (not yet supported).

use serde::Serialize;
use serde_json::Value;

use super::clock::Clock;
use super::tracking::{dist, TrackPoint};

/// m/s to mph.
pub const MPS_TO_MPH: f64 = 2.23694;
/// Points of the flight used for launch speed and angle (the ball slows and curves later).
pub const LAUNCH_WINDOW: usize = 8;
/// Version of the metric definitions, stored with every result.
pub const METRICS_VERSION: &str = "1";

/// Why a calibration was refused: every problem, naming its field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid calibration: {}", .0.join("; "))]
pub struct CalibrationError(pub Vec<String>);

/// Metres per pixel: from `calibration` when given (`{"metersPerPixel": f}`, or
/// `{"points": [[x1, y1], [x2, y2]], "distanceM": f}` for two reference points a known distance
/// apart), else `ref_len_m / ref_len_px`.
pub fn meters_per_pixel(ref_len_m: f64, ref_len_px: f64, calibration: Option<&Value>) -> Result<f64, CalibrationError> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let Some(cal) = calibration else {
        let mut errors = Vec::new();
        if !positive(ref_len_m) {
            errors.push(format!("ref_len_m must be a positive number, got {ref_len_m}"));
        }
        if !positive(ref_len_px) {
            errors.push(format!("ref_len_px must be a positive number, got {ref_len_px}"));
        }
        if !errors.is_empty() {
            return Err(CalibrationError(errors));
        }
        // Each finite and positive, the ratio can still overflow or vanish (1e300 / 1e-300).
        let scale = ref_len_m / ref_len_px;
        return if positive(scale) {
            Ok(scale)
        } else {
            Err(CalibrationError(vec![format!(
                "ref_len_m / ref_len_px must be a finite positive scale, got {ref_len_m} / {ref_len_px} = {scale}"
            )]))
        };
    };
    let Value::Object(map) = cal else {
        return Err(CalibrationError(vec!["calibration must be a JSON object".into()]));
    };
    if let Some(v) = map.get("metersPerPixel") {
        return match v.as_f64() {
            Some(m) if positive(m) => Ok(m),
            _ => Err(CalibrationError(vec![format!("calibration.metersPerPixel must be a positive number, got {v}")])),
        };
    }
    let mut errors = Vec::new();
    let pts: Option<Vec<(f64, f64)>> = match map.get("points") {
        Some(Value::Array(ps)) if ps.len() == 2 => {
            let parsed: Vec<Option<(f64, f64)>> = ps
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([x, y]) => x.as_f64().zip(y.as_f64()).filter(|(x, y)| x.is_finite() && y.is_finite()),
                    _ => None,
                })
                .collect();
            if parsed.iter().all(Option::is_some) {
                Some(parsed.into_iter().flatten().collect())
            } else {
                errors.push("calibration.points must be two [x, y] pairs of numbers".into());
                None
            }
        }
        Some(_) => {
            errors.push("calibration.points must be two [x, y] pairs of numbers".into());
            None
        }
        None => {
            errors.push("calibration needs metersPerPixel, or points and distanceM".into());
            None
        }
    };
    let distance = match map.get("distanceM").or_else(|| map.get("distance_m")) {
        Some(v) => match v.as_f64() {
            Some(d) if positive(d) => Some(d),
            _ => {
                errors.push(format!("calibration.distanceM must be a positive number, got {v}"));
                None
            }
        },
        None => {
            if pts.is_some() {
                errors.push("calibration.distanceM is required with points".into());
            }
            None
        }
    };
    if let (Some(p), Some(d)) = (&pts, distance) {
        let px = ((p[1].0 - p[0].0).powi(2) + (p[1].1 - p[0].1).powi(2)).sqrt();
        if !(px.is_finite() && px >= 1.0) {
            errors.push("calibration.points must be at least 1 px apart, at a finite distance".into());
        } else if errors.is_empty() {
            let scale = d / px;
            if positive(scale) {
                return Ok(scale);
            }
            errors
                .push(format!("calibration distanceM / points distance must be a finite positive scale, got {scale}"));
        }
    }
    Err(CalibrationError(errors))
}

/// Centred moving average of positions over `window` frames (1 = unchanged; even windows round
/// down to odd). Near the ends the window shrinks symmetrically, so a straight track stays exactly
/// straight and its ends are not dragged inwards (which would bias launch velocity).
pub fn smooth(track: &[TrackPoint], window: usize) -> Vec<TrackPoint> {
    if window <= 1 || track.len() < 3 {
        return track.to_vec();
    }
    let half = (window - 1) / 2;
    (0..track.len())
        .map(|i| {
            let h = half.min(i).min(track.len() - 1 - i);
            let (lo, hi) = (i - h, i + h);
            let n = (hi - lo + 1) as f64;
            let (sx, sy) = track[lo..=hi].iter().fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
            TrackPoint { x: sx / n, y: sy / n, ..track[i] }
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The mean after clamping each value into median ± max(3.5·MAD, 0.25·|median|): one bad frame
/// cannot drag the estimate, while a consistent set passes untouched.
pub fn robust_mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let m = median(&mut values.to_vec());
    let mad = median(&mut values.iter().map(|v| (v - m).abs()).collect::<Vec<_>>());
    let t = (3.5 * mad).max(0.25 * m.abs());
    Some(values.iter().map(|v| v.clamp(m - t, m + t)).sum::<f64>() / values.len() as f64)
}

/// A velocity in m/s, y up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Velocity {
    /// Horizontal (image x) component.
    pub vx: f64,
    /// Vertical component, up positive.
    pub vy: f64,
}

impl Velocity {
    /// Speed.
    pub fn speed(&self) -> f64 {
        self.vx.hypot(self.vy)
    }

    /// Angle above the horizontal in degrees, whichever way the ball crosses the frame.
    pub fn launch_deg(&self) -> f64 {
        self.vy.atan2(self.vx.abs()).to_degrees()
    }
}

/// Velocity over `points` from 3-frame central differences (times from `clock`), robust per axis.
pub fn robust_velocity(points: &[TrackPoint], clock: &Clock, m_per_px: f64) -> Option<Velocity> {
    if points.len() < 3 || clock.fps().is_nan() || clock.fps() <= 0.0 {
        return None;
    }
    let (mut vxs, mut vys) = (Vec::new(), Vec::new());
    for w in points.windows(3) {
        let dt = clock.between(w[0].frame, w[2].frame);
        if dt.is_nan() || dt <= 0.0 {
            continue;
        }
        vxs.push((w[2].x - w[0].x) * m_per_px / dt);
        vys.push(-(w[2].y - w[0].y) * m_per_px / dt);
    }
    Some(Velocity { vx: robust_mean(&vxs)?, vy: robust_mean(&vys)? })
}

/// The impact frame: the last frame at or before the ball's first flight frame in which the club
/// head box touches the ball's position, else the flight's first frame (the ball starts to move).
pub fn impact_frame(flight: &[TrackPoint], club: &[TrackPoint]) -> Option<usize> {
    let first = flight.first()?;
    let touching = |c: &TrackPoint| {
        let (dx, dy) = ((c.x - first.x).abs(), (c.y - first.y).abs());
        dx <= (c.w + first.w) / 2.0 + 2.0 && dy <= (c.h + first.h) / 2.0 + 2.0
    };
    let contact = club
        .iter()
        .filter(|c| c.frame <= first.frame && c.frame + 3 >= first.frame && touching(c))
        .map(|c| c.frame)
        .max();
    Some(contact.unwrap_or(first.frame))
}

/// Splits a ball track into the ball at rest (teed) and its flight: the rest is the longest prefix
/// whose detections stay within `max(3 px, half the ball)` of the first one, and counts only when
/// it has at least two points and at least three remain. A slow ball (a pitch at 120 fps moves a
/// ball width or two per frame) stays inside the tracker's gate across impact, so the teed ball and
/// its flight can arrive as one track; launch velocity must come from the flight alone.
pub fn split_rest(track: &[TrackPoint]) -> (&[TrackPoint], &[TrackPoint]) {
    let Some(first) = track.first() else {
        return (&[], track);
    };
    let still = (first.w.max(first.h) / 2.0).max(3.0);
    let rest = track.iter().take_while(|p| dist(p.x, p.y, first.x, first.y) <= still).count();
    if rest < 2 {
        return (&[], track);
    }
    // A gap filled across the launch is a point between the tee and the flight that the ball
    // never occupied: the flight starts at its first detection.
    let flight_start = rest + track[rest..].iter().take_while(|p| p.interpolated).count();
    if track.len() - flight_start >= 3 {
        (&track[..rest], &track[flight_start..])
    } else {
        (&[], track)
    }
}

/// The detected (not interpolated) points of a ball track's flight proper: [`split_rest`]'s flight
/// without the points still on the ball's first place. `split_rest` keeps a rest with fewer than
/// three flight points after it as one "flight", which is right for measuring it but would make a
/// teed ball and two flight points look like a ten-point flight to a rule that counts points (the
/// dense pass's stop, the motion fill's anchor).
pub fn flight_points(track: &[TrackPoint]) -> Vec<TrackPoint> {
    let (_, flight) = split_rest(track);
    let Some(first) = flight.first() else { return Vec::new() };
    let still = (first.w.max(first.h) / 2.0).max(3.0);
    let resting = flight.iter().take_while(|p| dist(p.x, p.y, first.x, first.y) <= still).count();
    flight.iter().skip(if resting >= 2 { resting } else { 0 }).filter(|p| !p.interpolated).copied().collect()
}

/// Drops up to two leading flight points whose step to the next point disagrees with the flight's
/// own velocity (by more than a quarter of the speed and more than a ball width). At impact the
/// detector can report a second "ball" beside the club or the teed ball a frame late; the tracker
/// may start the flight on it, and a wrong first point biases the launch window (measured: +5 % ball
/// speed on a rendered swing whose flight points were all within 0.5 px).
pub fn trim_false_start(mut flight: &[TrackPoint]) -> &[TrackPoint] {
    for _ in 0..2 {
        if flight.len() < 4 {
            break;
        }
        let (first, second) = (&flight[0], &flight[1]);
        let dt = second.frame.saturating_sub(first.frame) as f64;
        if dt <= 0.0 || first.interpolated {
            break;
        }
        let Some((vx, vy)) = pixel_velocity(&flight[1..flight.len().min(LAUNCH_WINDOW + 1)]) else {
            break;
        };
        let (sx, sy) = ((second.x - first.x) / dt, (second.y - first.y) / dt);
        let off = dist(sx, sy, vx, vy);
        let size = second.w.max(second.h).max(3.0);
        if off > 0.25 * vx.hypot(vy) && off > size {
            flight = &flight[1..];
        } else {
            break;
        }
    }
    flight
}

/// Pixels per frame of a flight's first points (robust, y down as in the image).
fn pixel_velocity(points: &[TrackPoint]) -> Option<(f64, f64)> {
    let (mut vx, mut vy) = (Vec::new(), Vec::new());
    for w in points.windows(2) {
        let dt = w[1].frame.saturating_sub(w[0].frame) as f64;
        if dt > 0.0 {
            vx.push((w[1].x - w[0].x) / dt);
            vy.push((w[1].y - w[0].y) / dt);
        }
    }
    Some((robust_mean(&vx)?, robust_mean(&vy)?))
}

/// The frame at which the ball left the tee: the flight's first point traced back along its
/// velocity to the ball at rest at `tee`. Returns the last frame with the ball still on the tee
/// (the "the ball starts to move"), or `None` when the geometry does not fit (the rest
/// position is not behind the flight, or the ball hardly moves).
pub fn launch_frame(flight: &[TrackPoint], tee: (f64, f64)) -> Option<usize> {
    let first = flight.first()?;
    let (vx, vy) = pixel_velocity(&flight[..flight.len().min(LAUNCH_WINDOW)])?;
    let speed = (vx * vx + vy * vy).sqrt();
    if speed < 1.0 {
        return None;
    }
    // Distance travelled from the tee, measured along the direction of flight.
    let along = ((first.x - tee.0) * vx + (first.y - tee.1) * vy) / speed;
    let across = ((first.x - tee.0) * vy - (first.y - tee.1) * vx).abs() / speed;
    if along <= 0.0 || across > 3.0 * first.w.max(first.h).max(4.0) {
        return None;
    }
    let t0 = first.frame as f64 - along / speed;
    // Small tolerance: a launch at the very start of a frame interval belongs to that frame.
    (t0 > -1.0).then(|| (t0 + 0.1).floor().max(0.0) as usize)
}

/// Ball flight constants for [`carry_m`]: a 45.93 g, 42.67 mm ball in sea-level air, with constant
/// drag and lift coefficients typical of a driven ball with backspin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightModel {
    /// Air density, kg/m³.
    pub air_density: f64,
    /// Ball mass, kg.
    pub mass: f64,
    /// Ball diameter, m.
    pub diameter: f64,
    /// Drag coefficient.
    pub cd: f64,
    /// Lift coefficient (backspin).
    pub cl: f64,
}

impl Default for FlightModel {
    fn default() -> Self {
        FlightModel { air_density: 1.225, mass: 0.04593, diameter: 0.04267, cd: 0.25, cl: 0.16 }
    }
}

/// Gravity, m/s².
pub const GRAVITY_MPS2: f64 = 9.81;

impl FlightModel {
    /// The ball's acceleration at velocity `(vx, vy)` (m/s, y up, travelling towards +x), in m/s²:
    /// gravity, quadratic drag against the velocity, and lift perpendicular to it (rotated towards
    /// +y: backspin). The one statement of the flight law: the carry, the launch fit, the swing
    /// renderer and the tests' reference path all integrate this.
    pub fn accel(&self, vx: f64, vy: f64) -> (f64, f64) {
        let area = std::f64::consts::PI * (self.diameter / 2.0).powi(2);
        let k = 0.5 * self.air_density * area / self.mass;
        let v = vx.hypot(vy);
        (-k * v * (self.cd * vx + self.cl * vy), -GRAVITY_MPS2 + k * v * (self.cl * vx - self.cd * vy))
    }

    /// The ball's position (metres from the launch point, y up) at each of `times` (seconds after
    /// launch, ascending), integrated by Heun's method in steps of `h` seconds and one Euler step
    /// for the remainder. Slow and simple on purpose: the reference the fit's RK4 and the
    /// renderer are checked against, not used to measure anything.
    pub fn reference_path(&self, speed_mps: f64, launch_deg: f64, times: &[f64], h: f64) -> Vec<(f64, f64)> {
        let a = launch_deg.to_radians();
        let (mut x, mut y, mut vx, mut vy) = (0.0f64, 0.0f64, speed_mps * a.cos(), speed_mps * a.sin());
        let mut t = 0.0;
        let mut out = Vec::with_capacity(times.len());
        for &target in times {
            while t + h <= target + 1e-12 {
                let (ax, ay) = self.accel(vx, vy);
                let (pvx, pvy) = (vx + h * ax, vy + h * ay);
                let (bx, by) = self.accel(pvx, pvy);
                x += h / 2.0 * (vx + pvx);
                y += h / 2.0 * (vy + pvy);
                vx += h / 2.0 * (ax + bx);
                vy += h / 2.0 * (ay + by);
                t += h;
            }
            let r = target - t;
            out.push((x + vx * r, y + vy * r));
        }
        out
    }
}

/// Carry distance in metres: the flight integrated (1 ms steps) under gravity, quadratic drag
/// against the velocity and lift perpendicular to it, until the ball is back at launch height.
pub fn carry_m(speed_mps: f64, launch_deg: f64, model: &FlightModel) -> f64 {
    if speed_mps.is_nan() || speed_mps <= 0.0 || !launch_deg.is_finite() {
        return 0.0;
    }
    let (mut x, mut y) = (0.0f64, 0.0f64);
    let a = launch_deg.to_radians();
    let (mut vx, mut vy) = (speed_mps * a.cos(), speed_mps * a.sin());
    let dt = 0.001;
    for _ in 0..60_000 {
        let (ax, ay) = model.accel(vx, vy);
        let (nx, ny) = (x + vx * dt, y + vy * dt);
        vx += ax * dt;
        vy += ay * dt;
        if ny < 0.0 && vy < 0.0 {
            // Interpolate the landing between the last two steps.
            let t = y / (y - ny);
            return x + (nx - x) * t;
        }
        (x, y) = (nx, ny);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pts(coords: &[(f64, f64)]) -> Vec<TrackPoint> {
        coords
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| TrackPoint { frame: i, x, y, w: 10.0, h: 10.0, score: 0.9, interpolated: false })
            .collect()
    }

    #[test]
    fn scale_comes_from_calibration_or_the_reference_length() {
        assert_eq!(meters_per_pixel(1.0, 100.0, None), Ok(0.01));
        assert_eq!(meters_per_pixel(1.0, 100.0, Some(&json!({"metersPerPixel": 0.002}))), Ok(0.002));
        let two = meters_per_pixel(1.0, 100.0, Some(&json!({"points": [[0, 0], [300, 400]], "distanceM": 2.5})));
        assert!((two.expect("points") - 0.005).abs() < 1e-12);
        let cases = [
            (json!({"metersPerPixel": -1}), "metersPerPixel"),
            (json!({"metersPerPixel": "x"}), "metersPerPixel"),
            (json!({"points": [[0, 0]], "distanceM": 1}), "points"),
            (json!({"points": [[0, 0], [1, "a"]], "distanceM": 1}), "points"),
            (json!({"points": [[0, 0], [10, 0]]}), "distanceM"),
            (json!({"points": [[0, 0], [10, 0]], "distanceM": 0}), "distanceM"),
            (json!({"points": [[5, 5], [5, 5]], "distanceM": 1}), "1 px apart"),
            (json!({}), "metersPerPixel"),
            (json!([1, 2]), "JSON object"),
        ];
        for (cal, needle) in cases {
            let err = meters_per_pixel(1.0, 100.0, Some(&cal)).expect_err(&cal.to_string());
            assert!(err.to_string().contains(needle), "{cal}: {err}");
        }
        let err = meters_per_pixel(0.0, f64::NAN, None).expect_err("bad refs");
        assert_eq!(err.0.len(), 2);
    }

    #[test]
    fn robust_mean_ignores_one_wild_value_but_not_a_consistent_set() {
        assert_eq!(robust_mean(&[10.0, 10.0, 10.0]), Some(10.0));
        let with_outlier = robust_mean(&[10.0, 10.2, 9.8, 10.1, 60.0]).expect("mean");
        assert!(with_outlier < 11.0, "{with_outlier}");
        assert_eq!(robust_mean(&[]), None);
    }

    #[test]
    fn velocity_launch_and_direction_from_a_known_track() {
        // 30 px/frame right, 10 px/frame up, at 120 fps and 5 mm/px: vx 18 m/s, vy 6 m/s.
        let track = pts(&(0..10).map(|i| (100.0 + 30.0 * i as f64, 500.0 - 10.0 * i as f64)).collect::<Vec<_>>());
        let v = robust_velocity(&track, &Clock::constant(120.0), 0.005).expect("velocity");
        assert!((v.vx - 18.0).abs() < 1e-9 && (v.vy - 6.0).abs() < 1e-9, "{v:?}");
        assert!((v.launch_deg() - (6.0f64 / 18.0).atan().to_degrees()).abs() < 1e-9);
        // The same shot filmed from the other side launches at the same angle.
        let mirrored = pts(&(0..10).map(|i| (900.0 - 30.0 * i as f64, 500.0 - 10.0 * i as f64)).collect::<Vec<_>>());
        let m = robust_velocity(&mirrored, &Clock::constant(120.0), 0.005).expect("velocity");
        assert!((m.launch_deg() - v.launch_deg()).abs() < 1e-9);
        // One mis-detected frame barely moves the estimate.
        let mut noisy = track.clone();
        noisy[5].y += 60.0;
        let n = robust_velocity(&noisy, &Clock::constant(120.0), 0.005).expect("velocity");
        assert!((n.speed() - v.speed()).abs() / v.speed() < 0.05, "{n:?} vs {v:?}");
        assert!(robust_velocity(&track[..2], &Clock::constant(120.0), 0.005).is_none());
    }

    #[test]
    fn smoothing_keeps_a_straight_line_and_damps_jitter() {
        let line = pts(&(0..7).map(|i| (10.0 * i as f64, 0.0)).collect::<Vec<_>>());
        for w in [3, 4, 5, 25] {
            let s = smooth(&line, w);
            assert!(s.iter().zip(&line).all(|(a, b)| (a.x - b.x).abs() < 1e-9), "window {w} bends a straight line");
        }
        let jitter = pts(&[(0.0, 0.0), (10.0, 6.0), (20.0, -6.0), (30.0, 6.0), (40.0, 0.0)]);
        let s = smooth(&jitter, 3);
        assert!(s[2].y.abs() < 6.0 / 3.0 + 1e-9);
        assert_eq!(smooth(&jitter, 1), jitter);
    }

    #[test]
    fn impact_is_the_last_contact_before_flight_or_the_first_flight_frame() {
        let mut flight = pts(&[(300.0, 500.0), (330.0, 490.0), (360.0, 480.0)]);
        for (i, p) in flight.iter_mut().enumerate() {
            p.frame = 10 + i;
        }
        let club =
            |frame: usize, x: f64| TrackPoint { frame, x, y: 500.0, w: 40.0, h: 30.0, score: 0.8, interpolated: false };
        assert_eq!(impact_frame(&flight, &[club(8, 200.0), club(9, 285.0), club(10, 310.0)]), Some(10));
        assert_eq!(impact_frame(&flight, &[club(8, 200.0), club(9, 285.0)]), Some(9));
        assert_eq!(impact_frame(&flight, &[club(5, 100.0)]), Some(10));
        assert_eq!(impact_frame(&[], &[]), None);
    }

    #[test]
    fn carry_is_plausible_and_behaves_physically() {
        let m = FlightModel::default();
        let driver = carry_m(70.0, 12.0, &m);
        assert!((190.0..=270.0).contains(&driver), "a 70 m/s drive carries {driver:.1} m");
        assert!(carry_m(50.0, 12.0, &m) < driver);
        assert!(carry_m(70.0, 12.0, &FlightModel { cd: 0.0, ..m }) > driver, "drag shortens the flight");
        assert!(carry_m(70.0, 12.0, &FlightModel { cl: 0.0, ..m }) < driver, "backspin lift lengthens a low drive");
        let vacuum = carry_m(20.0, 45.0, &FlightModel { cd: 0.0, cl: 0.0, ..m });
        assert!((vacuum - 400.0 / 9.81).abs() < 0.1, "no air: v²/g, got {vacuum}");
        assert_eq!(carry_m(0.0, 12.0, &m), 0.0);
        assert_eq!(carry_m(70.0, f64::NAN, &m), 0.0);
    }

    #[test]
    fn a_teed_ball_merged_with_its_flight_is_split_at_launch() {
        // At rest for 5 frames (with 1 px jitter), then 20 px/frame up and right.
        let mut coords: Vec<(f64, f64)> = (0..5).map(|i| (100.0 + (i % 2) as f64, 300.0)).collect();
        coords.extend((1..=6).map(|k| (100.0 + 20.0 * k as f64, 300.0 - 6.0 * k as f64)));
        let track = pts(&coords);
        let (rest, flight) = split_rest(&track);
        assert_eq!((rest.len(), flight.len()), (5, 6));
        assert_eq!(flight[0].frame, 5);
        // A gap filled across the launch does not start the flight.
        let mut gapped = track.clone();
        gapped[5].interpolated = true;
        let (rest, flight_g) = split_rest(&gapped);
        assert_eq!((rest.len(), flight_g[0].frame), (5, 6));
        // Traced back, the flight left the tee at frame 4: the last frame on the tee.
        assert_eq!(launch_frame(flight, (100.5, 300.0)), Some(4));
        // A moving track has no rest; a short one is not split.
        assert_eq!(split_rest(flight).0.len(), 0);
        assert_eq!(split_rest(&track[..6]).0.len(), 0, "three flight points are needed");
        // A rest position off the line, or ahead of the flight, is not its tee.
        assert_eq!(launch_frame(flight, (100.0, 200.0)), None);
        assert_eq!(launch_frame(flight, (400.0, 210.0)), None);
    }

    #[test]
    fn a_false_first_flight_point_is_trimmed_and_a_true_one_kept() {
        // A flight at (26, -8.5) px/frame; the first point is a false ball 14 px behind the tee.
        let mut flight: Vec<TrackPoint> =
            pts(&[(114.0, 284.8), (154.0, 275.0), (180.0, 266.5), (206.0, 258.0), (232.0, 249.5), (258.0, 241.0)]);
        for (i, p) in flight.iter_mut().enumerate() {
            p.frame = 12 + i;
        }
        let trimmed = trim_false_start(&flight);
        assert_eq!(trimmed.first().map(|p| p.frame), Some(13));
        // The teed ball a frame before launch moves with the flight: kept.
        flight[0].x = 128.0;
        flight[0].y = 283.5;
        assert_eq!(trim_false_start(&flight).first().map(|p| p.frame), Some(12));
        // Too short a flight to judge: unchanged.
        assert_eq!(trim_false_start(&flight[..3]).len(), 3);
    }

    #[test]
    fn launch_frame_uses_the_gap_when_the_first_flight_frames_are_missed() {
        // Ball on the tee at x=50 up to frame 10, 30 px/frame from there; first seen at frame 14.
        let flight: Vec<TrackPoint> = (14..20)
            .map(|f| TrackPoint {
                frame: f,
                x: 50.0 + 30.0 * (f - 10) as f64,
                y: 200.0,
                w: 10.0,
                h: 10.0,
                score: 0.9,
                interpolated: false,
            })
            .collect();
        assert_eq!(launch_frame(&flight, (50.0, 200.0)), Some(10));
    }
}

//! Rendered golf swings with exact ground truth, for end-to-end accuracy tests of the analyze
//! endpoints.
//!
//! The scene is a face-on view (camera perpendicular to the target line): mown grass under a strip
//! of sky and trees, a white ball on a tee, and a driver head (the silhouette
//! `models/train/gen_dataset.py` taught the detector) on a shaft with hands and arms, swung along
//! an arc about a pivot above the frame. It reaches the ball at [`SwingSpec::impact_frame`]. How
//! the club moves is [`Swing`]: [`SwingSpec::preset`] sweeps it at constant speed (its clips span
//! a tenth of a second either side of impact); [`SwingSpec::phone`] clips hold a whole swing
//! (address, backswing, downswing, follow-through, a held finish) anywhere in seconds of footage.
//!
//! **The ball flies under real physics**: from the tee at the impact frame's timestamp with the
//! spec's speed and launch angle, under gravity (9.81 m/s²), quadratic drag against the velocity
//! and backspin lift perpendicular to it, with the constants of
//! `analyze::pipeline::kinematics::FlightModel` (the model the pipeline's carry uses), integrated
//! by RK4 in 0.1 ms steps: positions are exact to far below a micrometre. So the truth is the
//! launch velocity itself, and a pipeline that averages velocity over its first flight frames reads
//! a gravity-bent path low (60 fps, 31 m/s at 14°: ~13° over 8 frames). Frame `i > impact_frame`
//! shows the flight at `t = (i − impact_frame) / fps` after launch; frames up to and including the
//! impact frame show the ball on the tee. A ball that comes back down to the ground stops where it
//! lands (no bounce, no roll). [`Ball`] also makes a ball nobody hits and no ball at all.
//!
//! Each frame is exposed for [`SHUTTER_S`] around its timestamp `i / fps`, so moving things are
//! motion-blurred: the ball is drawn at its positions along the exposure (a short streak whose
//! midpoint is its centre at mid-exposure, as the training labels put it), the club head along its
//! arc. Gaussian sensor noise of `noise_sigma` 8-bit levels is added last. Everything is
//! deterministic per [`SwingSpec::seed`] (own SplitMix64 generator). A frame in which nothing
//! moved since the previous one (address, the finish, an empty tee) reuses the previous frame's
//! composed picture and draws only fresh noise, so long phone clips cost little beyond their swing.
//!
//! [`Truth`] comes from the positions actually drawn: ball centres at mid-exposure with sub-pixel
//! precision, the club-head box where the blurred head coverage is at least 0.3 (the training
//! label rule), and the launch speed and angle the flight was started with.

use std::f64::consts::PI;
use std::io::{Cursor, Write};

use analyze::pipeline::kinematics::FlightModel;
use image::RgbImage;

/// Exposure time of every frame, seconds: a fast shutter, as swing footage is shot with. Moving
/// things blur by their speed times this.
pub const SHUTTER_S: f64 = 1.0 / 500.0;

/// Diameter of a golf ball, metres (the presets derive their scale from it).
pub const BALL_DIAMETER_M: f64 = 0.04267;

/// Gravity, m/s².
pub const GRAVITY_MPS2: f64 = 9.81;

/// Step of the flight integration, seconds.
const FLIGHT_STEP_S: f64 = 1e-4;

/// Where the scene's fixed elements sit, as fractions of the frame.
const HORIZON_FRAC: f64 = 0.13;
const GROUND_FRAC: f64 = 0.82;
const TEE_X_FRAC: f64 = 0.2;
/// Visible tee height between the ground and the ball, in ball diameters.
const TEE_HEIGHT_D: f64 = 0.35;

/// How the club moves. Angles are of the club about its pivot, 0 at impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swing {
    /// Sweeps its arc at the impact speed for the whole clip: the presets, whose clips span about a
    /// tenth of a second either side of impact, where a real downswing is near its peak speed.
    Sweep,
    /// A whole swing: held at address (head a ball's width behind the ball), then a 0.8 s
    /// backswing, 0.12 s at the top, and the downswing accelerating smoothly to `club_speed_mps`
    /// at impact (0.3 s; shorter for fast swings, whose backswing stops at 150°), so the club
    /// leaves address 1.0-1.2 s before impact; after it a follow-through decelerating to a finish
    /// (0.4 s or less), held for the rest of the clip.
    Full,
    /// No swing: the club stays at address all clip.
    Address,
}

/// What happens to the ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ball {
    /// On the tee up to and including the impact frame, then in flight.
    Struck,
    /// On the tee all clip: a [`Swing::Full`] or [`Swing::Sweep`] arc is raised so that the
    /// head's sole passes a ball diameter above the ball (a whiff; the head never touches it); with
    /// [`Swing::Address`] nobody swings and nothing but the noise changes.
    Unstruck,
    /// No ball: an empty tee (a practice swing).
    Absent,
}

/// The ball in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BallState {
    /// There is no ball.
    Absent,
    /// On the tee.
    Teed,
    /// Launched and not yet landed (possibly outside the frame).
    Flying,
    /// Back on the ground where it landed, at rest.
    Landed,
}

/// What to render.
#[derive(Debug, Clone, PartialEq)]
pub struct SwingSpec {
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Frames per second (frame `i` is exposed around [`SwingSpec::frame_time_s`]).
    pub fps: f64,
    /// Amplitude of a phone's timestamp jitter, seconds: frame `i` is exposed at
    /// `i / fps + frame_jitter_s · sin(2.399963 · i)` (0: a constant rate). The same stamps
    /// `clipkit::phone::PhoneClip::jitter_s` writes.
    pub frame_jitter_s: f64,
    /// Number of frames.
    pub frames: usize,
    /// Ball speed at launch, m/s.
    pub ball_speed_mps: f64,
    /// Launch angle above the horizontal, degrees (image y up).
    pub launch_deg: f64,
    /// Scene scale, metres per pixel (the value to hand the analyze endpoint).
    pub m_per_px: f64,
    /// Ball diameter, pixels.
    pub ball_diameter_px: f64,
    /// The frame in which the club head touches the ball; the ball is on the tee up to and
    /// including it and in flight from the next frame on. May lie past the clip's end (a clip
    /// cut before the shot).
    pub impact_frame: usize,
    /// Club-head speed (of the head's centroid) at impact, m/s.
    pub club_speed_mps: f64,
    /// Standard deviation of the additive Gaussian noise, in 8-bit levels.
    pub noise_sigma: f64,
    /// Seed of everything random (look of grass, ball, club; noise).
    pub seed: u64,
    /// How the club moves.
    pub swing: Swing,
    /// What happens to the ball.
    pub ball: Ball,
}

impl SwingSpec {
    /// A sensible swing for a `width` x `height` camera at `fps`: ball 14 px across at 640 px wide
    /// (20 px at 1280), the scale `m_per_px` that makes it a real 42.67 mm ball, a 10 m/s pitch
    /// launched at 18° (slow enough to stay in frame for ≥ 8 frames at 60 fps; a driven ball would
    /// cross this field of view in two frames), club at 7.7 m/s (smash factor 1.3) sweeping at
    /// constant speed, impact 0.1 s into the clip, and frames until the ball has left the picture.
    /// Noise σ = 3 levels, seed 7.
    pub fn preset(width: u32, height: u32, fps: f64) -> SwingSpec {
        let s = f64::from(width.max(height)) / 640.0;
        let ball_diameter_px = (14.0 * s.sqrt()).round().clamp(12.0, 20.0);
        let impact_frame = ((0.1 * fps).round() as usize).max(4);
        let mut spec = SwingSpec {
            width,
            height,
            fps,
            frame_jitter_s: 0.0,
            frames: impact_frame + 1,
            ball_speed_mps: 10.0,
            launch_deg: 18.0,
            m_per_px: BALL_DIAMETER_M / ball_diameter_px,
            ball_diameter_px,
            impact_frame,
            club_speed_mps: 7.7,
            noise_sigma: 3.0,
            seed: 7,
            swing: Swing::Sweep,
            ball: Ball::Struck,
        };
        // The flight frames fully in the picture, then one in which the ball leaves.
        spec.frames = impact_frame + 1 + spec.flight_frames_until_gone() + 1;
        spec
    }

    /// A phone clip: `duration_s` of footage at `fps` with the impact at `impact_s` (anywhere in
    /// it, or past its end), a whole [`Swing::Full`] around it, and the preset's scene, ball size and
    /// shot (a 10 m/s pitch at 18°; set `ball_speed_mps`, `launch_deg`, `club_speed_mps` for
    /// others). E.g. `phone(640, 360, 120.0, 4.0, 3.0)`: 480 frames, impact at frame 360.
    pub fn phone(width: u32, height: u32, fps: f64, duration_s: f64, impact_s: f64) -> SwingSpec {
        assert!(duration_s.is_finite() && duration_s > 0.0, "duration {duration_s} s must be positive");
        assert!(impact_s.is_finite() && impact_s >= 0.0, "impact at {impact_s} s must be >= 0");
        SwingSpec {
            frames: ((duration_s * fps).round() as usize).max(1),
            impact_frame: (impact_s * fps).round() as usize,
            swing: Swing::Full,
            ..SwingSpec::preset(width, height, fps)
        }
    }

    /// A [`SwingSpec::phone`] clip of a drive (70 m/s at 12°, club at 48 m/s) that is gone from
    /// the picture by the third frame after launch: the ball is drawn bigger (the camera closer)
    /// when the preset's size would keep it in view longer (at 240 fps 640 px wide: 26 px).
    pub fn phone_quick_exit(width: u32, height: u32, fps: f64, duration_s: f64, impact_s: f64) -> SwingSpec {
        let mut spec = SwingSpec {
            ball_speed_mps: 70.0,
            launch_deg: 12.0,
            club_speed_mps: 48.0,
            ..SwingSpec::phone(width, height, fps, duration_s, impact_s)
        };
        let gone_by = spec.impact_frame + 3;
        while spec.ball_diameter_px < 200.0 {
            let path = ball_path(&SwingSpec { frames: gone_by + 1, ..spec.clone() });
            if path.centres[gone_by].is_none() {
                break;
            }
            let d = spec.ball_diameter_px + 1.0;
            spec = spec.with_ball_px(d);
        }
        spec
    }

    /// When frame `i` is exposed, seconds from the start of the clip.
    pub fn frame_time_s(&self, i: usize) -> f64 {
        i as f64 / self.fps + self.frame_jitter_s * (2.399963 * i as f64).sin()
    }

    /// Seconds from the impact frame to frame `i` (negative before it).
    fn since_impact_s(&self, i: usize) -> f64 {
        self.frame_time_s(i) - self.frame_time_s(self.impact_frame)
    }

    /// The same scene with the ball `d` pixels across, i.e. the camera nearer or further:
    /// `m_per_px` follows so that the ball stays 42.67 mm.
    pub fn with_ball_px(self, d: f64) -> SwingSpec {
        SwingSpec { ball_diameter_px: d, m_per_px: BALL_DIAMETER_M / d, ..self }
    }

    /// Frames with the ball in flight entirely inside the picture ([`Truth::ball_in_flight`]),
    /// without drawing anything.
    pub fn visible_flight_frames(&self) -> usize {
        let path = ball_path(self);
        (0..self.frames).filter(|&i| path.in_flight_inside(i, self)).count()
    }

    /// Consecutive flight frames after impact with the ball entirely inside the picture, however
    /// long the clip (stops at landing).
    fn flight_frames_until_gone(&self) -> usize {
        let lay = Layout::new(self);
        let flight = Flight::new(self, &lay, 60.0);
        let r = self.ball_diameter_px / 2.0;
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        (1..100_000)
            .take_while(|&k| {
                let t = k as f64 / self.fps;
                !flight.landed_by(t)
                    && flight.centre(t).is_some_and(|(x, y)| x - r >= 0.0 && x + r <= w && y - r >= 0.0 && y + r <= h)
            })
            .count()
    }

    fn validate(&self) {
        assert!(self.width >= 64 && self.height >= 64, "frame {}x{} is too small", self.width, self.height);
        assert!(self.fps.is_finite() && self.fps > 0.0, "fps {} must be positive", self.fps);
        assert!(self.m_per_px.is_finite() && self.m_per_px > 0.0, "m_per_px {} must be positive", self.m_per_px);
        assert!(self.ball_diameter_px >= 2.0, "ball diameter {} px is too small", self.ball_diameter_px);
        assert!(self.frames > 0, "no frames to render");
        assert!(self.ball_speed_mps.is_finite() && self.club_speed_mps.is_finite(), "speeds must be finite");
        assert!(self.launch_deg.is_finite(), "launch angle must be finite");
        assert!(self.noise_sigma.is_finite() && self.noise_sigma >= 0.0, "noise sigma must be >= 0");
    }
}

/// Ground truth of a rendered swing, from the positions actually drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Ball centre (at mid-exposure) per frame, pixels (origin = top-left corner of the top-left
    /// pixel, y down); `None` when the centre is outside the frame or there is no ball.
    pub ball_centres: Vec<Option<(f64, f64)>>,
    /// What the ball is doing in each frame.
    pub ball_states: Vec<BallState>,
    /// Centre of [`Truth::club_boxes`] per frame (what a detector reports), pixels.
    pub club_centres: Vec<Option<(f64, f64)>>,
    /// Club-head box `(x1, y1, x2, y2)` per frame: pixels where the blurred head (with hosel,
    /// without shaft) covers ≥ 0.3, clipped to the frame; `None` when under 40 % of it is inside.
    pub club_boxes: Vec<Option<(f64, f64, f64, f64)>>,
    /// Launch speed (the spec's: the flight starts with exactly this velocity), m/s; 0 when the
    /// ball is not struck.
    pub ball_speed_mps: f64,
    /// Launch angle above the horizontal, degrees, image y up (the spec's); 0 when not struck.
    pub launch_deg: f64,
    /// Whether the ball was struck and flew.
    pub launched: bool,
    /// The frame in which the head reaches the ball (the last frame with the ball on the tee);
    /// for a whiff, the frame the head passes over it.
    pub impact_frame: usize,
    /// Speed of the head's centroid at impact along its drawn arc, m/s.
    pub club_speed_mps: f64,
    /// Ball centre on the tee, pixels.
    pub tee: (f64, f64),
}

impl Truth {
    /// Whether frame `i` has the ball in flight (launched, not landed) entirely inside the frame.
    pub fn ball_in_flight(&self, i: usize, spec: &SwingSpec) -> bool {
        let r = spec.ball_diameter_px / 2.0;
        self.ball_states.get(i) == Some(&BallState::Flying)
            && self.ball_centres.get(i).copied().flatten().is_some_and(|(x, y)| {
                x - r >= 0.0 && y - r >= 0.0 && x + r <= f64::from(spec.width) && y + r <= f64::from(spec.height)
            })
    }

    /// Frames with [`Truth::ball_in_flight`].
    pub fn flight_frames(&self, spec: &SwingSpec) -> usize {
        (0..self.ball_states.len()).filter(|&i| self.ball_in_flight(i, spec)).count()
    }
}

/// The ball's path alone (what [`Truth`] holds about it), computed without drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct BallPath {
    /// Centre per frame at mid-exposure, pixels; `None` outside the frame or with no ball.
    pub centres: Vec<Option<(f64, f64)>>,
    /// State per frame.
    pub states: Vec<BallState>,
    /// Ball centre on the tee, pixels.
    pub tee: (f64, f64),
}

impl BallPath {
    fn in_flight_inside(&self, i: usize, spec: &SwingSpec) -> bool {
        let r = spec.ball_diameter_px / 2.0;
        self.states[i] == BallState::Flying
            && self.centres[i].is_some_and(|(x, y)| {
                x - r >= 0.0 && y - r >= 0.0 && x + r <= f64::from(spec.width) && y + r <= f64::from(spec.height)
            })
    }
}

/// The ball's centre and state per frame of `spec`, exactly as [`render_swing`] draws them.
pub fn ball_path(spec: &SwingSpec) -> BallPath {
    spec.validate();
    let lay = Layout::new(spec);
    let balls = BallFrames::new(spec, &lay);
    let (centres, states) = (0..spec.frames)
        .map(|i| {
            let b = balls.frame(i);
            (b.centre, b.state)
        })
        .unzip();
    BallPath { centres, states, tee: lay.tee }
}

/// How frames are encoded inside the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Lossless PNG, `frame_0000.png`, ...
    Png,
    /// JPEG at quality 90, `frame_0000.jpg`, ...
    Jpeg,
}

/// Zips `frames` as `frame_0000.png` (or `.jpg`), ... so that sorted name order is time order.
/// Entries are stored (the images are compressed already).
pub fn frames_zip(frames: &[RgbImage], format: ImageFormat) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (i, frame) in frames.iter().enumerate() {
        let mut bytes = Vec::new();
        let ext = match format {
            ImageFormat::Png => {
                frame
                    .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
                    .expect("PNG encoding into memory does not fail");
                "png"
            }
            ImageFormat::Jpeg => {
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
                    .encode_image(frame)
                    .expect("JPEG encoding into memory does not fail");
                "jpg"
            }
        };
        zip.start_file(format!("frame_{i:04}.{ext}"), options).expect("zip entry in memory");
        zip.write_all(&bytes).expect("zip write in memory");
    }
    zip.finish().expect("zip finish in memory").into_inner()
}

/// What a frame's picture depends on besides noise: when it equals the previous frame's, the
/// previous picture is reused.
#[derive(Debug, Clone, PartialEq)]
struct FrameKey {
    club: Vec<u64>,
    ball: Vec<Option<(u64, u64)>>,
    shadow: Option<(u64, u64)>,
}

/// Renders the swing: the frames and their ground truth.
///
/// # Panics
/// On a spec that cannot be drawn (frame under 64 px, non-positive fps or scale, no frames).
pub fn render_swing(spec: &SwingSpec) -> (Vec<RgbImage>, Truth) {
    spec.validate();
    let (w, h) = (spec.width as usize, spec.height as usize);
    let lay = Layout::new(spec);
    let mut rng = Rng::new(spec.seed, 1);
    let mut bg = Canvas { w, h, px: background(&mut rng, w, h, &lay) };
    let mut look = Rng::new(spec.seed, 2);
    let ball = BallLook::new(&mut look);
    let tee = Tee::new(&mut look, &lay, spec.ball_diameter_px);
    tee.draw(&mut bg);
    let club = Club::new(&mut look, spec, &lay);
    let finish = Finish::new(&mut look, w, h);
    let noise = NoiseField::new(spec.seed, spec.noise_sigma, w * h * 3);
    let balls = BallFrames::new(spec, &lay);

    let bits = |p: (f64, f64)| (p.0.to_bits(), p.1.to_bits());
    let mut frames = Vec::with_capacity(spec.frames);
    let mut ball_centres = Vec::with_capacity(spec.frames);
    let mut ball_states = Vec::with_capacity(spec.frames);
    let mut club_boxes = Vec::with_capacity(spec.frames);
    // The last composed picture before noise, its key and its head box.
    let mut last: Option<(FrameKey, Vec<f32>, Option<BBoxF>)> = None;
    for i in 0..spec.frames {
        let t = spec.since_impact_s(i);
        let thetas = club.exposure_thetas(t, SHUTTER_S);
        let b = balls.frame(i);
        let key = FrameKey {
            club: thetas.iter().map(|v| v.to_bits()).collect(),
            ball: b.samples.iter().map(|s| s.map(bits)).collect(),
            shadow: b.shadow.map(bits),
        };
        if last.as_ref().is_none_or(|(k, _, _)| *k != key) {
            let mut canvas = Canvas { w, h, px: bg.px.clone() };
            if let Some(c) = b.shadow {
                draw_ball_shadow(&mut canvas, c, spec.ball_diameter_px, lay.ground_y, &ball);
            }
            let head_box = club.draw(&mut canvas, &thetas);
            draw_ball(&mut canvas, &b.samples, spec.ball_diameter_px, &ball);
            last = Some((key, finish.base(&canvas), head_box));
        }
        let (_, base, head_box) = last.as_ref().expect("composed above");
        club_boxes.push(*head_box);
        let frame = finish.apply(base, w, h, noise.frame(&mut Rng::new(spec.seed, 1000 + i as u64)));
        frames.push(frame);
        ball_centres.push(b.centre);
        ball_states.push(b.state);
    }
    let launched = spec.ball == Ball::Struck;
    let truth = Truth {
        ball_centres,
        ball_states,
        club_centres: club_boxes.iter().map(|b| b.map(|(x1, y1, x2, y2)| ((x1 + x2) / 2.0, (y1 + y2) / 2.0))).collect(),
        club_boxes,
        ball_speed_mps: if launched { spec.ball_speed_mps } else { 0.0 },
        launch_deg: if launched { spec.launch_deg } else { 0.0 },
        launched,
        impact_frame: spec.impact_frame,
        club_speed_mps: club.omega * club.centroid_radius_px * spec.m_per_px,
        tee: lay.tee,
    };
    (frames, truth)
}

// ------------------------------------------------------------------------------------ flight

/// The ball's flight from the tee: gravity, quadratic drag and backspin lift
/// ([`FlightModel::default`]), RK4 in [`FLIGHT_STEP_S`] steps. States are stored per step (metres
/// and m/s from the tee, y up) until the ball lands, is well past a side of the frame, or `t_max`.
struct Flight {
    tee: (f64, f64),
    m_per_px: f64,
    /// ½ρA/m, cd, cl.
    air: (f64, f64, f64),
    states: Vec<[f64; 4]>,
    /// When and where (metres along) the ball landed, if it did.
    landing: Option<(f64, f64)>,
    /// Height of the centre of a ball at rest on the ground, metres relative to the tee.
    rest_y: f64,
}

impl Flight {
    fn new(spec: &SwingSpec, lay: &Layout, t_max: f64) -> Flight {
        let m = FlightModel::default();
        let area = PI * (m.diameter / 2.0).powi(2);
        let air = (0.5 * m.air_density * area / m.mass, m.cd, m.cl);
        let a = spec.launch_deg.to_radians();
        let mut s = [0.0, 0.0, spec.ball_speed_mps * a.cos(), spec.ball_speed_mps * a.sin()];
        let mpp = spec.m_per_px;
        let rest_y = -TEE_HEIGHT_D * spec.ball_diameter_px * mpp;
        let margin_px = 2.0 * spec.ball_diameter_px;
        let (left, right) = (-lay.tee.0 - margin_px, f64::from(spec.width) - lay.tee.0 + margin_px);
        let mut flight = Flight { tee: lay.tee, m_per_px: mpp, air, states: vec![s], landing: None, rest_y };
        let steps = (t_max / FLIGHT_STEP_S).ceil() as usize;
        for k in 1..=steps {
            let next = flight.rk4(s, FLIGHT_STEP_S);
            if next[1] <= rest_y && next[3] < 0.0 {
                let u = (s[1] - rest_y) / (s[1] - next[1]);
                flight.landing = Some(((k as f64 - 1.0 + u) * FLIGHT_STEP_S, s[0] + u * (next[0] - s[0])));
                break;
            }
            s = next;
            flight.states.push(s);
            let x_px = s[0] / mpp;
            if (x_px > right && s[2] >= 0.0) || (x_px < left && s[2] <= 0.0) {
                break; // it cannot come back
            }
        }
        flight
    }

    fn accel(&self, vx: f64, vy: f64) -> (f64, f64) {
        let (k, cd, cl) = self.air;
        let v = (vx * vx + vy * vy).sqrt();
        (-k * v * (cd * vx + cl * vy), -GRAVITY_MPS2 + k * v * (cl * vx - cd * vy))
    }

    fn rk4(&self, s: [f64; 4], h: f64) -> [f64; 4] {
        let d = |s: [f64; 4]| {
            let (ax, ay) = self.accel(s[2], s[3]);
            [s[2], s[3], ax, ay]
        };
        let add =
            |s: [f64; 4], k: [f64; 4], f: f64| [s[0] + k[0] * f, s[1] + k[1] * f, s[2] + k[2] * f, s[3] + k[3] * f];
        let k1 = d(s);
        let k2 = d(add(s, k1, h / 2.0));
        let k3 = d(add(s, k2, h / 2.0));
        let k4 = d(add(s, k3, h));
        let mut out = s;
        for i in 0..4 {
            out[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        out
    }

    fn landed_by(&self, t: f64) -> bool {
        self.landing.is_some_and(|(tl, _)| t >= tl)
    }

    /// Ball centre in pixels `t` seconds after launch (the tee before it); `None` once it has left
    /// for good (or past the integrated time).
    fn centre(&self, t: f64) -> Option<(f64, f64)> {
        let to_px = |x: f64, y: f64| (self.tee.0 + x / self.m_per_px, self.tee.1 - y / self.m_per_px);
        if t <= 0.0 {
            return Some(self.tee);
        }
        if let Some((tl, xl)) = self.landing {
            if t >= tl {
                return Some(to_px(xl, self.rest_y));
            }
        }
        let k = (t / FLIGHT_STEP_S).floor() as usize;
        let s = self.states.get(k)?;
        if k + 1 == self.states.len() && self.landing.is_none() && t - k as f64 * FLIGHT_STEP_S > 0.0 {
            return None; // past the last stored state: gone
        }
        let s = self.rk4(*s, t - k as f64 * FLIGHT_STEP_S);
        Some(to_px(s[0], s[1]))
    }
}

/// The ball as drawn in one frame.
struct BallFrame {
    /// Centre at mid-exposure, when inside the frame.
    centre: Option<(f64, f64)>,
    state: BallState,
    /// Centres along the exposure (`None`: outside the frame by then, or no ball).
    samples: Vec<Option<(f64, f64)>>,
    /// Where a resting ball casts its shadow.
    shadow: Option<(f64, f64)>,
}

/// Per-frame ball positions of a spec.
struct BallFrames<'a> {
    spec: &'a SwingSpec,
    flight: Option<Flight>,
    tee: (f64, f64),
}

impl<'a> BallFrames<'a> {
    fn new(spec: &'a SwingSpec, lay: &Layout) -> BallFrames<'a> {
        let t_end = spec.since_impact_s(spec.frames) + SHUTTER_S;
        let flight = (spec.ball == Ball::Struck && t_end > 0.0).then(|| Flight::new(spec, lay, t_end));
        BallFrames { spec, flight, tee: lay.tee }
    }

    fn frame(&self, i: usize) -> BallFrame {
        let spec = self.spec;
        let (w, h) = (f64::from(spec.width), f64::from(spec.height));
        let inside = |c: (f64, f64)| (0.0..w).contains(&c.0) && (0.0..h).contains(&c.1);
        let t = spec.since_impact_s(i);
        let at_rest = |c: (f64, f64), state| BallFrame {
            centre: inside(c).then_some(c),
            state,
            samples: vec![Some(c)],
            shadow: Some(c),
        };
        match (&self.flight, spec.ball) {
            (_, Ball::Absent) => BallFrame { centre: None, state: BallState::Absent, samples: vec![], shadow: None },
            (Some(f), Ball::Struck) if i > spec.impact_frame => {
                if f.landed_by(t - SHUTTER_S / 2.0) {
                    return at_rest(f.centre(t).expect("a landed ball has a place"), BallState::Landed);
                }
                let centre = f.centre(t);
                let (a, b) = (f.centre(t - SHUTTER_S / 2.0), f.centre(t + SHUTTER_S / 2.0));
                let len = match (a, b) {
                    (Some(a), Some(b)) => (a.0 - b.0).hypot(a.1 - b.1),
                    _ => spec.ball_speed_mps * SHUTTER_S / spec.m_per_px,
                };
                let n = ((len * 1.5).ceil() as usize + 1).min(48);
                let samples = (0..n)
                    .map(|k| {
                        let f_k = if n == 1 { 0.0 } else { k as f64 / (n - 1) as f64 - 0.5 };
                        f.centre(t + f_k * SHUTTER_S)
                    })
                    .collect();
                BallFrame { centre: centre.filter(|&c| inside(c)), state: BallState::Flying, samples, shadow: None }
            }
            _ => at_rest(self.tee, BallState::Teed),
        }
    }
}

// ------------------------------------------------------------------------------------ layout

/// Fixed positions in the frame.
struct Layout {
    /// Scale of the look relative to a 640 px long side.
    s: f64,
    horizon_y: f64,
    ground_y: f64,
    /// Ball centre on the tee.
    tee: (f64, f64),
}

impl Layout {
    fn new(spec: &SwingSpec) -> Layout {
        let (w, h) = (f64::from(spec.width), f64::from(spec.height));
        let ground_y = h * GROUND_FRAC;
        let d = spec.ball_diameter_px;
        Layout {
            s: w.max(h) / 640.0,
            horizon_y: h * HORIZON_FRAC,
            ground_y,
            tee: (w * TEE_X_FRAC, ground_y - d * TEE_HEIGHT_D - d / 2.0),
        }
    }
}

// ------------------------------------------------------------------------------------ random

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed);
        let a = r.next_u64();
        let mut r = Rng(a ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.uniform()
    }

    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[((self.uniform() * items.len() as f64) as usize).min(items.len() - 1)]
    }
}

/// A fixed pseudo-random value in [0, 1) for an integer lattice point (texture that moves with
/// the object it is painted on).
fn hash01(x: i64, y: i64, salt: u64) -> f64 {
    let mut r =
        Rng((x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ salt);
    r.uniform()
}

/// Sensor noise: one field of N(0, σ) values, a frame's worth plus [`NOISE_SHIFT`], drawn once per
/// clip; each frame adds the field from its own random offset. Within a frame every value is
/// independent; from frame to frame the noise moves by a random shift, so it is never the same
/// at a pixel twice in a row, and a frame costs an addition per value instead of a random draw.
struct NoiseField(Vec<f32>);

/// Range of the per-frame offsets into the noise field, in values.
const NOISE_SHIFT: usize = 1 << 16;

impl NoiseField {
    fn new(seed: u64, sigma: f64, values: usize) -> NoiseField {
        let mut r = Rng::new(seed, 3);
        let table: Vec<f32> = (0..65_536).map(|_| (r.normal() * sigma) as f32).collect();
        // Indexed by 16-bit slices of the stream: four values per draw.
        let mut field = Vec::with_capacity(values + NOISE_SHIFT);
        while field.len() < values + NOISE_SHIFT {
            let mut bits = r.next_u64();
            for _ in 0..4 {
                field.push(table[(bits & 0xFFFF) as usize]);
                bits >>= 16;
            }
        }
        NoiseField(field)
    }

    /// The noise of the frame whose generator is `rng`.
    fn frame(&self, rng: &mut Rng) -> &[f32] {
        let off = (rng.next_u64() % NOISE_SHIFT as u64) as usize;
        &self.0[off..off + self.0.len() - NOISE_SHIFT]
    }
}

/// Smooth zero-mean noise with features of about `cell` pixels.
fn lowfreq(rng: &mut Rng, w: usize, h: usize, cell: f64) -> Vec<f32> {
    let cell = cell.max(1.0);
    let gw = (w as f64 / cell) as usize + 3;
    let gh = (h as f64 / cell) as usize + 3;
    let grid: Vec<f64> = (0..gw * gh).map(|_| rng.normal() * 1.5).collect();
    let smooth = |t: f64| t * t * (3.0 - 2.0 * t);
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let gy = y as f64 / cell;
        let (iy, fy) = (gy as usize, smooth(gy.fract()));
        for x in 0..w {
            let gx = x as f64 / cell;
            let (ix, fx) = (gx as usize, smooth(gx.fract()));
            let g = |i: usize, j: usize| grid[j * gw + i];
            let top = g(ix, iy) * (1.0 - fx) + g(ix + 1, iy) * fx;
            let bot = g(ix, iy + 1) * (1.0 - fx) + g(ix + 1, iy + 1) * fx;
            out[y * w + x] = (top * (1.0 - fy) + bot * fy) as f32;
        }
    }
    out
}

fn hsv(h: f64, s: f64, v: f64) -> [f64; 3] {
    let i = (h * 6.0).floor() as i64;
    let f = h * 6.0 - i as f64;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    match i.rem_euclid(6) {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

// ------------------------------------------------------------------------------------ canvas

/// Linear-ish RGB in 0..1, premultiplied "over" compositing.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<[f32; 3]>,
}

impl Canvas {
    /// `colour` is premultiplied by `alpha`.
    fn over(&mut self, x: usize, y: usize, colour: [f64; 3], alpha: f64) {
        if alpha <= 0.0 {
            return;
        }
        let p = &mut self.px[y * self.w + x];
        for c in 0..3 {
            p[c] = (f64::from(p[c]) * (1.0 - alpha) + colour[c]) as f32;
        }
    }

    /// Pixel range covering `[x0, x1] x [y0, y1]`, clipped to the canvas.
    fn clip(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Option<(usize, usize, usize, usize)> {
        let xa = x0.floor().max(0.0);
        let ya = y0.floor().max(0.0);
        let xb = x1.ceil().min(self.w as f64);
        let yb = y1.ceil().min(self.h as f64);
        (xa < xb && ya < yb).then_some((xa as usize, ya as usize, xb as usize, yb as usize))
    }
}

fn clamp01(v: f64) -> f64 {
    v.clamp(0.0, 1.0)
}

// ------------------------------------------------------------------------------------ background

fn background(rng: &mut Rng, w: usize, h: usize, lay: &Layout) -> Vec<[f32; 3]> {
    let s = lay.s;
    let hz = lay.horizon_y;
    // Grass.
    let base = hsv(rng.range(0.21, 0.29), rng.range(0.45, 0.7), rng.range(0.36, 0.52));
    let big_cell = w.max(h) as f64 / rng.range(2.0, 5.0);
    let big = lowfreq(rng, w, h, big_cell);
    let mid = lowfreq(rng, w, h, 18.0 * s);
    let red = lowfreq(rng, w, h, 60.0 * s);
    let blade_rows = (rng.range(2.0, 4.0) * s).round().max(2.0) as usize;
    let bw = w;
    let bh = h / blade_rows + 2;
    let blades: Vec<f32> = (0..bw * bh).map(|_| rng.normal() as f32).collect();
    let blade_amp = rng.range(0.07, 0.12);
    let fine_amp = 0.03;
    let stripe_amp = rng.range(0.05, 0.1);
    let stripe_period = rng.range(110.0, 220.0) * s; // at the bottom row
    let stripe_phase = rng.range(0.0, 1.0);
    let wobble = lowfreq(rng, w, 1, 90.0 * s);
    let haze = [0.62, 0.72, 0.74];
    // Sky and tree line.
    let sky_top = [0.30 * rng.range(0.9, 1.1), 0.50 * rng.range(0.9, 1.1), 0.86];
    let sky_bot = [0.74, 0.83, 0.93];
    let tree_h = hz * rng.range(0.45, 0.8);
    let tree_cell = rng.range(12.0, 40.0) * s;
    let tree_prof = lowfreq(rng, w, 1, tree_cell);
    let tree_fine = lowfreq(rng, w, 1, 3.0 * s);
    let tree_rows = h.min(hz as usize + 2);
    let tree_tex: Vec<f32> = lowfreq(rng, w, tree_rows, 2.5 * s)
        .iter()
        .zip(lowfreq(rng, w, tree_rows, 8.0 * s))
        .map(|(a, b)| 0.6 * a + 0.5 * b)
        .collect();
    let tree_col = hsv(rng.range(0.24, 0.38), rng.range(0.4, 0.7), rng.range(0.12, 0.24));

    let mut px = vec![[0f32; 3]; w * h];
    let depth_span = (h as f64 - hz).max(1.0);
    for y in 0..h {
        let yc = y as f64 + 0.5;
        // 0 at the horizon, 1 at the bottom.
        let depth = clamp01((yc - hz) / depth_span);
        // Mowing stripes across the view, narrowing towards the horizon (perspective).
        let phase = (yc - hz).max(0.0).powi(2) / (2.0 * stripe_period * depth_span) + stripe_phase;
        for x in 0..w {
            let i = y * w + x;
            let sky = {
                let f = clamp01(yc / hz.max(1.0));
                let mut c = [0.0; 3];
                for k in 0..3 {
                    c[k] = sky_top[k] * (1.0 - f) + sky_bot[k] * f;
                }
                c
            };
            let by = y as f64 / blade_rows as f64;
            let (byi, byf) = (by as usize, by.fract() as f32);
            let blade = blades[byi * bw + x] * (1.0 - byf) + blades[(byi + 1) * bw + x] * byf;
            let fine = (hash01(x as i64, y as i64, 77) - 0.5) * 2.0;
            let stripe = (4.0 * (2.0 * PI * phase + 0.6 * f64::from(wobble[x])).sin()).tanh();
            let t = 0.12 * f64::from(big[i])
                + 0.05 * f64::from(mid[i])
                + blade_amp * (0.35 + 0.65 * depth) * f64::from(blade)
                + fine_amp * fine
                + stripe_amp * depth.sqrt() * stripe;
            let mut g = [0.0; 3];
            for k in 0..3 {
                g[k] = base[k] * (1.0 + t);
            }
            g[0] *= 1.0 + 0.05 * f64::from(red[i]);
            let hf = 0.4 * (1.0 - depth).powi(4);
            for k in 0..3 {
                g[k] = g[k] * (1.0 - hf) + haze[k] * hf;
            }
            // Ground edge at the horizon (anti-aliased), trees above it.
            let ground = clamp01(yc - hz + 0.5);
            let top = hz - tree_h * (0.6 + 0.4 * f64::from(tree_prof[x]).tanh() + 0.06 * f64::from(tree_fine[x]));
            let tree = clamp01(yc - top + 0.5) * (1.0 - ground);
            let tt = if y < tree_tex.len() / w { 1.0 + 0.3 * f64::from(tree_tex[y * w + x]) } else { 1.0 };
            let mut c = [0f32; 3];
            for k in 0..3 {
                let above = sky[k] * (1.0 - tree / (1.0 - ground).max(1e-9))
                    + tree_col[k] * tt * (tree / (1.0 - ground).max(1e-9));
                let v = if ground >= 1.0 { g[k] } else { above * (1.0 - ground) + g[k] * ground };
                c[k] = v as f32;
            }
            px[i] = c;
        }
    }
    let mut canvas = Canvas { w, h, px };
    // A divot or two on the ground, clear of the tee.
    let n_divots = rng.pick(&[0usize, 1, 1, 2]);
    for _ in 0..n_divots {
        let cx = rng.range(0.35, 0.95) * w as f64;
        let cy = rng.range(lay.ground_y + 8.0 * s, h as f64 - 4.0 * s);
        let col = hsv(rng.range(0.06, 0.12), rng.range(0.3, 0.55), rng.range(0.18, 0.35));
        let (ax, ay) = (rng.range(8.0, 22.0) * s, rng.range(2.5, 6.0) * s);
        let alpha = rng.range(0.6, 0.9);
        stamp_ellipse(&mut canvas, (cx, cy), ax, ay, col, alpha);
    }
    canvas.px
}

/// An axis-aligned soft ellipse.
fn stamp_ellipse(canvas: &mut Canvas, c: (f64, f64), ax: f64, ay: f64, col: [f64; 3], alpha: f64) {
    let Some((x0, y0, x1, y1)) = canvas.clip(c.0 - ax - 2.0, c.1 - ay - 2.0, c.0 + ax + 2.0, c.1 + ay + 2.0) else {
        return;
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let a = ellipse_cover((x as f64 + 0.5, y as f64 + 0.5), c, ax, ay, 0.0) * alpha;
            canvas.over(x, y, [col[0] * a, col[1] * a, col[2] * a], a);
        }
    }
}

/// Anti-aliased coverage of a rotated ellipse (approximate signed distance).
fn ellipse_cover(p: (f64, f64), c: (f64, f64), ax: f64, ay: f64, ang: f64) -> f64 {
    let (dx, dy) = (p.0 - c.0, p.1 - c.1);
    let (ca, sa) = (ang.cos(), ang.sin());
    let (u, v) = (dx * ca + dy * sa, -dx * sa + dy * ca);
    let k = ((u / ax).powi(2) + (v / ay).powi(2)).sqrt();
    clamp01(0.5 - (k - 1.0) * ax.min(ay))
}

// ------------------------------------------------------------------------------------ tee, ball

struct Tee {
    poly: Vec<(f64, f64)>,
    colour: [f64; 3],
}

impl Tee {
    fn new(rng: &mut Rng, lay: &Layout, d: f64) -> Tee {
        let tw = (d * rng.range(0.16, 0.22)).max(1.2);
        let (x, ground) = (lay.tee.0, lay.ground_y);
        let top = lay.tee.1 + d / 2.0 - d * 0.06; // the cup hides under the ball
        let colour = rng.pick(&[[0.93, 0.93, 0.9], [0.95, 0.55, 0.12], [0.95, 0.85, 0.2], [0.62, 0.45, 0.28]]);
        let cup = top + tw * 0.9;
        let poly = vec![
            (x - tw / 2.0, ground + tw * 0.3),
            (x + tw / 2.0, ground + tw * 0.3),
            (x + tw / 2.0, cup),
            (x + tw * 1.3, top),
            (x - tw * 1.3, top),
            (x - tw / 2.0, cup),
        ];
        Tee { poly, colour }
    }

    fn draw(&self, canvas: &mut Canvas) {
        let b = bounds(self.poly.iter().copied(), 1.0);
        let Some((x0, y0, x1, y1)) = canvas.clip(b.0, b.1, b.2, b.3) else {
            return;
        };
        let mid = (b.0 + b.2) / 2.0;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = (x as f64 + 0.5, y as f64 + 0.5);
                let a = clamp01(0.5 - poly_sd(p, &self.poly));
                let shade = 1.0 - 0.25 * clamp01((p.0 - mid) / (b.2 - mid).max(1.0));
                canvas.over(x, y, self.colour.map(|c| c * shade * a), a);
            }
        }
    }
}

/// Looks of the ball (fixed for the swing).
struct BallLook {
    base: f64,
    tint: [f64; 3],
    ambient: f64,
    spec: f64,
    light: [f64; 3],
    salt: u64,
}

impl BallLook {
    fn new(rng: &mut Rng) -> BallLook {
        let l = [rng.range(-0.6, 0.6), rng.range(-0.9, -0.4), rng.range(0.6, 1.0)];
        let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
        BallLook {
            base: rng.range(0.88, 0.98),
            tint: [1.0, rng.range(0.98, 1.0), rng.range(0.93, 0.99)],
            ambient: rng.range(0.4, 0.55),
            spec: rng.range(0.15, 0.35),
            light: [l[0] / n, l[1] / n, l[2] / n],
            salt: rng.next_u64(),
        }
    }
}

/// Soft shadow of the teed ball on the ground, off to the side away from the light.
fn draw_ball_shadow(canvas: &mut Canvas, c: (f64, f64), d: f64, ground_y: f64, look: &BallLook) {
    let r = d / 2.0;
    let cx = c.0 - look.light[0] * r * 0.8;
    let (ax, ay) = (r * 1.25, r * 0.38);
    let Some((x0, y0, x1, y1)) = canvas.clip(cx - ax - 3.0, ground_y - ay - 3.0, cx + ax + 3.0, ground_y + ay + 3.0)
    else {
        return;
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = ((x as f64 + 0.5 - cx) / ax, (y as f64 + 0.5 - ground_y) / ay);
            let a = clamp01(1.0 - (dx * dx + dy * dy)) * 0.5;
            canvas.over(x, y, [0.0; 3], a);
        }
    }
}

/// Draws the ball blurred over its centres at instants spread evenly over the exposure (`None`:
/// gone by then, which leaves that share of the exposure to the background).
fn draw_ball(canvas: &mut Canvas, samples: &[Option<(f64, f64)>], d: f64, look: &BallLook) {
    let r = d / 2.0;
    let n = samples.len();
    let centres: Vec<(f64, f64)> = samples.iter().flatten().copied().collect();
    if centres.is_empty() {
        return;
    }
    let reach = r + 2.0;
    let b = bounds(centres.iter().copied(), reach);
    let Some((x0, y0, x1, y1)) = canvas.clip(b.0, b.1, b.2, b.3) else {
        return;
    };
    let [lx, ly, lz] = look.light;
    for y in y0..y1 {
        for x in x0..x1 {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let (mut acc, mut acc_a) = ([0.0f64; 3], 0.0f64);
            for c in &centres {
                let (dx, dy) = (px - c.0, py - c.1);
                let dist = (dx * dx + dy * dy).sqrt();
                let a = clamp01(r - dist + 0.5);
                if a <= 0.0 {
                    continue;
                }
                let (nx, ny) = (dx / r.max(0.5), dy / r.max(0.5));
                let nz = (1.0 - nx * nx - ny * ny).max(0.0).sqrt();
                let lam = (nx * lx + ny * ly + nz * lz).max(0.0);
                let mut shade = look.ambient + (1.0 - look.ambient) * lam;
                if d > 10.0 {
                    // Dimples: fixed speckle in ball coordinates.
                    let u = hash01((dx * 1.5).floor() as i64, (dy * 1.5).floor() as i64, look.salt);
                    shade *= 1.0 - 0.07 * u;
                }
                let spec = clamp01(1.0 - ((nx - lx * 0.5).powi(2) + (ny - ly * 0.5).powi(2)) / 0.05) * look.spec;
                for (acc, tint) in acc.iter_mut().zip(look.tint) {
                    *acc += ((look.base * shade * tint) + spec).min(1.2) * a;
                }
                acc_a += a;
            }
            let nf = n as f64;
            canvas.over(x, y, [acc[0] / nf, acc[1] / nf, acc[2] / nf], acc_a / nf);
        }
    }
}

// ------------------------------------------------------------------------------------ club

/// Signed distance from `p` to a polygon (negative inside).
fn poly_sd(p: (f64, f64), poly: &[(f64, f64)]) -> f64 {
    let mut best = f64::INFINITY;
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let a = poly[i];
        let b = poly[(i + 1) % n];
        best = best.min(seg_dist(p, a, b));
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    if inside {
        -best
    } else {
        best
    }
}

fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let l2 = abx * abx + aby * aby;
    let t = if l2 > 0.0 { clamp01(((p.0 - a.0) * abx + (p.1 - a.1) * aby) / l2) } else { 0.0 };
    let (dx, dy) = (p.0 - a.0 - t * abx, p.1 - a.1 - t * aby);
    (dx * dx + dy * dy).sqrt() // not hypot: libm's is slow and this is the hot loop
}

type BBoxF = (f64, f64, f64, f64);

fn bounds(pts: impl IntoIterator<Item = (f64, f64)>, pad: f64) -> BBoxF {
    let mut b = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    for p in pts {
        b = (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1));
    }
    (b.0 - pad, b.1 - pad, b.2 + pad, b.3 + pad)
}

fn in_box(p: (f64, f64), b: &BBoxF) -> bool {
    p.0 >= b.0 && p.0 <= b.2 && p.1 >= b.1 && p.1 <= b.3
}

/// A round-capped segment.
struct Capsule {
    a: (f64, f64),
    b: (f64, f64),
    width: f64,
    colour: [f64; 3],
    bbox: BBoxF,
}

impl Capsule {
    fn new(a: (f64, f64), b: (f64, f64), width: f64, colour: [f64; 3]) -> Capsule {
        Capsule { a, b, width, colour, bbox: bounds([a, b], width / 2.0 + 1.0) }
    }

    fn cover(&self, p: (f64, f64)) -> f64 {
        if !in_box(p, &self.bbox) {
            return 0.0;
        }
        clamp01(self.width / 2.0 - seg_dist(p, self.a, self.b) + 0.5)
    }
}

/// The club in its impact pose (image pixels), swung rigidly about `pivot`.
struct Club {
    head: Vec<Vec<(f64, f64)>>,
    head_bbox: BBoxF,
    /// Head frame: heel x = 0, toe x = 1, sole y = 0 (up) ↔ image.
    hx: f64,
    hy: f64,
    width: f64,
    colour: [f64; 3],
    ramp: (f64, f64, f64),
    spec: (f64, f64, f64),
    /// Drawn under the head, bottom first.
    parts: Vec<Capsule>,
    hands: Vec<((f64, f64), f64, f64, f64)>,
    hand_colour: [f64; 3],
    pivot: (f64, f64),
    /// Swing rate at impact, radians per second (positive: the head moves right at the bottom).
    omega: f64,
    centroid_radius_px: f64,
    /// The club's angle over time.
    motion: Motion,
}

/// The club's angle about the pivot over time (0 at impact, negative back): see [`Swing`].
#[derive(Debug, Clone, Copy)]
enum Motion {
    Sweep { omega: f64 },
    Still { addr: f64 },
    Full { omega: f64, addr: f64, top: f64, down_s: f64, fin: f64, follow_s: f64 },
}

/// Backswing duration, seconds, and the pause at the top.
const BACKSWING_S: f64 = 0.8;
const TOP_PAUSE_S: f64 = 0.12;
/// Nominal downswing and follow-through durations, seconds, and the largest angle either reaches
/// (150°): a fast swing gets there sooner.
const DOWNSWING_S: f64 = 0.3;
const FOLLOW_S: f64 = 0.4;
const MAX_SWING_RAD: f64 = 2.6;

impl Motion {
    fn theta(&self, t: f64) -> f64 {
        let smooth = |s: f64| s * s * (3.0 - 2.0 * s);
        match *self {
            Motion::Sweep { omega } => omega * t,
            Motion::Still { addr } => addr,
            Motion::Full { omega, addr, top, down_s, fin, follow_s } => {
                if t >= follow_s {
                    fin
                } else if t >= 0.0 {
                    // Angular speed omega·(1 − smoothstep(s)): full at impact, 0 at the finish.
                    let s = t / follow_s;
                    omega * follow_s * (s - s.powi(3) + s.powi(4) / 2.0)
                } else if t >= -down_s {
                    // Angular speed omega·smoothstep(s): 0 at the top, full (and flat) at impact.
                    let s = (t + down_s) / down_s;
                    -top + omega * down_s * (s.powi(3) - s.powi(4) / 2.0)
                } else if t >= -down_s - TOP_PAUSE_S {
                    -top
                } else if t >= -down_s - TOP_PAUSE_S - BACKSWING_S {
                    let s = (t + down_s + TOP_PAUSE_S + BACKSWING_S) / BACKSWING_S;
                    addr + (-top - addr) * smooth(s)
                } else {
                    addr
                }
            }
        }
    }
}

impl Club {
    fn new(rng: &mut Rng, spec: &SwingSpec, lay: &Layout) -> Club {
        let mpp = spec.m_per_px;
        // A driver (the ball is on a tee): head 110-120 mm heel to toe, crown colours as drivers
        // come (mostly black; blue, grey, red). Irons (72-80 mm, chrome) were tried: the current
        // detector finds almost none of them at these sizes, see scene_recall.
        let width = rng.range(0.11, 0.12) / mpp;
        let colour = rng.pick(&[
            [0.06, 0.06, 0.07],
            [0.06, 0.06, 0.07],
            [0.06, 0.06, 0.07],
            [0.10, 0.25, 0.72],
            [0.10, 0.25, 0.72],
            [0.40, 0.40, 0.42],
            [0.76, 0.10, 0.10],
        ]);
        let k = rng.range(0.9, 1.1);
        let colour = colour.map(|c| c * k);
        // Local shape (gen_dataset.py's head_polygon): heel x = 0, toe x = 1, sole y = 0, y up.
        let hr = rng.range(0.5, 0.75);
        let body: Vec<(f64, f64)> = (0..36)
            .map(|i| {
                let t = 2.0 * PI * f64::from(i) / 36.0;
                let x = 0.5 + 0.5 * t.cos();
                let y = hr * 0.5 * (1.0 + t.sin()) * (0.75 + 0.3 * x);
                (x, if t.sin() < 0.0 { y * 0.7 } else { y })
            })
            .collect();
        let top = body.iter().map(|p| p.1).fold(0.0, f64::max);
        let hosel = vec![(0.06, top * 0.55), (0.16, top * 0.55), (0.13, top * 1.05), (0.08, top * 1.05)];
        let (local, hosel_local) = (vec![body, hosel], (0.105, top * 1.05));
        // A whiff raises the whole arc so that the sole passes a ball diameter over the ball's top.
        let lift = if spec.ball == Ball::Unstruck && spec.swing != Swing::Address {
            2.0 * spec.ball_diameter_px + TEE_HEIGHT_D * spec.ball_diameter_px
        } else {
            0.0
        };
        let target = (lay.tee.0, lay.tee.1 - lift);
        // Impact pose: sole on the ground, toe towards the target (right), toe touching the ball.
        let hy = lay.ground_y - lift - 0.25 * width;
        let to_img = |hx: f64, p: (f64, f64)| (hx + (p.0 - 0.5) * width, hy - (p.1 - 0.25) * width);
        let r = spec.ball_diameter_px / 2.0;
        let clearance = |hx: f64| {
            local
                .iter()
                .map(|poly| {
                    let img: Vec<(f64, f64)> = poly.iter().map(|&p| to_img(hx, p)).collect();
                    poly_sd(target, &img)
                })
                .fold(f64::INFINITY, f64::min)
                - r
        };
        // Slide the head in from the left until it touches the ball.
        let (mut lo, mut hi) = (target.0 - 3.0 * width - r, target.0 - r);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if clearance(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let hx = lo;
        let head: Vec<Vec<(f64, f64)>> =
            local.iter().map(|poly| poly.iter().map(|&p| to_img(hx, p)).collect()).collect();
        let head_bbox = bounds(head.iter().flatten().copied(), 1.0);
        let hosel = to_img(hx, hosel_local);
        // Shaft from the hosel up and back towards the heel (lie 95-105°), hands near its end,
        // arms on to the pivot (lead shoulder) above the frame.
        let lie = rng.range(95.0f64, 105.0).to_radians();
        let dir = (lie.cos(), -lie.sin());
        let along = |m: f64| (hosel.0 + dir.0 * m / mpp, hosel.1 + dir.1 * m / mpp);
        let club_len = 1.12;
        let shaft_w = (0.011 / mpp).max(1.5);
        let shaft_col = rng.pick(&[[0.1, 0.1, 0.11], [0.45, 0.45, 0.5], [0.72, 0.72, 0.75]]);
        let grip_col = [rng.range(0.04, 0.2); 3];
        let sleeve = rng.pick(&[[0.12, 0.14, 0.25], [0.85, 0.85, 0.86], [0.5, 0.1, 0.12], [0.2, 0.2, 0.2]]);
        let hand_colour = if rng.chance(0.5) { [0.93, 0.93, 0.9] } else { hsv(rng.range(0.03, 0.08), 0.45, 0.75) };
        let pivot = along(club_len + 0.62);
        let parts = vec![
            Capsule::new(along(club_len - 0.05), pivot, 0.09 / mpp, sleeve),
            Capsule::new(hosel, along(club_len), shaft_w, shaft_col),
            Capsule::new(along(club_len - 0.27), along(club_len), shaft_w * 1.7, grip_col),
        ];
        let ang = dir.1.atan2(dir.0);
        let hs = 0.05 / mpp;
        let hands = vec![(along(club_len - 0.12), hs, hs * 0.7, ang), (along(club_len - 0.04), hs, hs * 0.7, ang)];
        let cx = head[0].iter().map(|p| p.0).sum::<f64>() / head[0].len() as f64;
        let cy = head[0].iter().map(|p| p.1).sum::<f64>() / head[0].len() as f64;
        let centroid_radius_px = (cx - pivot.0).hypot(cy - pivot.1);
        let omega = spec.club_speed_mps / (centroid_radius_px * mpp);
        // At address the head waits a ball's width behind the ball.
        let addr = -spec.ball_diameter_px / centroid_radius_px;
        let motion = match spec.swing {
            Swing::Sweep => Motion::Sweep { omega },
            Swing::Full if omega > 0.0 => {
                let top = (omega * DOWNSWING_S / 2.0).min(MAX_SWING_RAD);
                let fin = (omega * FOLLOW_S / 2.0).min(MAX_SWING_RAD);
                Motion::Full { omega, addr, top, down_s: 2.0 * top / omega, fin, follow_s: 2.0 * fin / omega }
            }
            Swing::Full | Swing::Address => Motion::Still { addr },
        };
        Club {
            head,
            head_bbox,
            hx,
            hy,
            width,
            colour,
            ramp: (rng.range(0.0, 2.0 * PI), rng.range(0.2, 0.5), 0.0),
            spec: (rng.range(0.3, 0.7), rng.range(0.15, 0.45), rng.range(0.15, 0.4)),
            parts,
            hands,
            hand_colour,
            pivot,
            omega,
            centroid_radius_px,
            motion,
        }
    }

    /// Rotates an impact-pose point to the pose `theta` radians later (image coordinates), given
    /// as `(cos theta, sin theta)`; `(c, -s)` rotates back.
    fn rotate(&self, p: (f64, f64), (c, s): (f64, f64)) -> (f64, f64) {
        let (x, y) = (p.0 - self.pivot.0, p.1 - self.pivot.1);
        (self.pivot.0 + x * c + y * s, self.pivot.1 - x * s + y * c)
    }

    fn head_cover(&self, q: (f64, f64)) -> f64 {
        if !in_box(q, &self.head_bbox) {
            return 0.0;
        }
        let sd = self.head.iter().map(|poly| poly_sd(q, poly)).fold(f64::INFINITY, f64::min);
        clamp01(0.5 - sd)
    }

    fn head_colour(&self, q: (f64, f64)) -> [f64; 3] {
        let lx = (q.0 - self.hx) / self.width + 0.5;
        let ly = -(q.1 - self.hy) / self.width + 0.25;
        let (ga, gain, _) = self.ramp;
        let shade = 0.85 + gain * ((lx - 0.5) * ga.cos() + (ly - 0.25) * ga.sin());
        let (sx, sy, k) = self.spec;
        let spec = k * (-((lx - sx).powi(2) + (ly - sy).powi(2)) / (2.0 * 0.12f64.powi(2))).exp();
        self.colour.map(|c| (c * shade + spec).clamp(0.0, 1.2))
    }

    /// The club's angles at `n` instants spread over the exposure of `shutter_s` seconds around
    /// `t` seconds after impact, `n` from how far the toe travels meanwhile (1 when it is still).
    fn exposure_thetas(&self, t: f64, shutter_s: f64) -> Vec<f64> {
        let (a, b) = (self.motion.theta(t - shutter_s / 2.0), self.motion.theta(t + shutter_s / 2.0));
        let toe_px = (b - a).abs() * self.centroid_radius_px * 1.3; // the toe moves faster
        let n = ((toe_px * 1.5).ceil() as usize + 1).min(32);
        (0..n)
            .map(|k| {
                let f = if n == 1 { 0.0 } else { k as f64 / (n - 1) as f64 - 0.5 };
                self.motion.theta(t + f * shutter_s)
            })
            .collect()
    }

    /// Draws the club blurred over the angles `thetas` (from [`Club::exposure_thetas`]); returns
    /// the head box (coverage ≥ 0.3, clipped; `None` when under 40 % of it is in the frame).
    fn draw(&self, canvas: &mut Canvas, thetas: &[f64]) -> Option<BBoxF> {
        let n = thetas.len();
        let thetas: Vec<(f64, f64)> = thetas.iter().map(|t| (t.cos(), t.sin())).collect();
        let back: Vec<(f64, f64)> = thetas.iter().map(|&(c, s)| (c, -s)).collect();
        let corners = |b: &BBoxF| [(b.0, b.1), (b.2, b.1), (b.0, b.3), (b.2, b.3)];
        let mut all: Vec<(f64, f64)> = Vec::new();
        let mut head_pts: Vec<(f64, f64)> = Vec::new();
        for &th in &thetas {
            head_pts.extend(corners(&self.head_bbox).map(|p| self.rotate(p, th)));
            for c in &self.parts {
                all.extend(corners(&c.bbox).map(|p| self.rotate(p, th)));
            }
        }
        all.extend(&head_pts);
        let hands_bbox: Vec<BBoxF> = self.hands.iter().map(|h| bounds([h.0], h.1 + 1.0)).collect();
        for &th in &thetas {
            for b in &hands_bbox {
                all.extend(corners(b).map(|p| self.rotate(p, th)));
            }
        }
        let ub = bounds(all, 1.0);
        let nf = n as f64;
        if let Some((x0, y0, x1, y1)) = canvas.clip(ub.0, ub.1, ub.2, ub.3) {
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = (x as f64 + 0.5, y as f64 + 0.5);
                    let (mut acc, mut acc_a) = ([0.0f64; 3], 0.0f64);
                    for &th in &back {
                        let q = self.rotate(p, th);
                        let (mut c, mut a) = ([0.0f64; 3], 0.0f64);
                        let mut layer = |cov: f64, col: [f64; 3]| {
                            if cov > 0.0 {
                                for ch in 0..3 {
                                    c[ch] = c[ch] * (1.0 - cov) + col[ch] * cov;
                                }
                                a = a * (1.0 - cov) + cov;
                            }
                        };
                        for part in &self.parts {
                            layer(part.cover(q), part.colour);
                        }
                        for (i, h) in self.hands.iter().enumerate() {
                            if in_box(q, &hands_bbox[i]) {
                                layer(
                                    ellipse_cover(q, h.0, h.1, h.2, h.3),
                                    self.hand_colour.map(|v| v * (0.95 + 0.05 * i as f64)),
                                );
                            }
                        }
                        let hc = self.head_cover(q);
                        if hc > 0.0 {
                            layer(hc, self.head_colour(q));
                        }
                        for ch in 0..3 {
                            acc[ch] += c[ch];
                        }
                        acc_a += a;
                    }
                    canvas.over(x, y, [acc[0] / nf, acc[1] / nf, acc[2] / nf], acc_a / nf);
                }
            }
        }
        // Head box from the blurred head coverage, over the unclipped extent.
        let hb = bounds(head_pts, 1.0);
        let (mut bx0, mut by0, mut bx1, mut by1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for y in hb.1.floor() as i64..hb.3.ceil() as i64 {
            for x in hb.0.floor() as i64..hb.2.ceil() as i64 {
                let p = (x as f64 + 0.5, y as f64 + 0.5);
                let cov: f64 = back.iter().map(|&th| self.head_cover(self.rotate(p, th))).sum::<f64>() / nf;
                if cov >= 0.3 {
                    (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x + 1), by1.max(y + 1));
                }
            }
        }
        if bx0 > bx1 {
            return None;
        }
        let full = ((bx1 - bx0) * (by1 - by0)) as f64;
        let (w, h) = (canvas.w as f64, canvas.h as f64);
        let cb = ((bx0 as f64).max(0.0), (by0 as f64).max(0.0), (bx1 as f64).min(w), (by1 as f64).min(h));
        if cb.2 <= cb.0 || cb.3 <= cb.1 {
            return None;
        }
        let vis = (cb.2 - cb.0) * (cb.3 - cb.1) / full.max(1e-9);
        (vis >= 0.4).then_some(cb)
    }
}

// ------------------------------------------------------------------------------------ finish

/// Camera response: gain, colour temperature, vignette; then noise and 8-bit quantisation.
struct Finish {
    gain: [f64; 3],
    vignette: Vec<f32>,
}

impl Finish {
    fn new(rng: &mut Rng, w: usize, h: usize) -> Finish {
        let g = rng.range(0.92, 1.08);
        let temp = rng.range(-0.04, 0.04);
        let v = rng.range(0.05, 0.2);
        let vignette = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 / w as f64 * 2.0 - 1.0, (i / w) as f64 / h as f64 * 2.0 - 1.0);
                (1.0 - v * (x * x + y * y) / 2.0) as f32
            })
            .collect();
        Finish { gain: [g * (1.0 + temp), g, g * (1.0 - temp)], vignette }
    }

    /// The picture before noise: camera gain and vignette, in 8-bit levels per channel.
    fn base(&self, canvas: &Canvas) -> Vec<f32> {
        let mut out = Vec::with_capacity(canvas.px.len() * 3);
        for (p, &v) in canvas.px.iter().zip(&self.vignette) {
            for (c, g) in p.iter().zip(self.gain) {
                out.push((f64::from(*c) * g * f64::from(v) * 255.0) as f32);
            }
        }
        out
    }

    /// The frame: `base` plus `noise`, rounded half up to 8 bits.
    fn apply(&self, base: &[f32], w: usize, h: usize, noise: &[f32]) -> RgbImage {
        // `as u8` saturates: below 0 gives 0, above 255 gives 255 (and this way it vectorises).
        let raw: Vec<u8> = base.iter().zip(noise).map(|(&b, &n)| (b + n + 0.5) as u8).collect();
        RgbImage::from_raw(w as u32, h as u32, raw).expect("w x h x 3 values")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESETS: [(u32, u32, f64); 4] = [(640, 360, 120.0), (640, 360, 60.0), (1280, 720, 120.0), (1280, 720, 60.0)];

    /// A preset cut to a few frames after impact (the big presets are slow in debug builds).
    fn short(w: u32, h: u32, fps: f64, after: usize) -> SwingSpec {
        let spec = SwingSpec::preset(w, h, fps);
        SwingSpec { frames: spec.frames.min(spec.impact_frame + 1 + after), ..spec }
    }

    #[test]
    fn presets_are_sensible() {
        for (w, h, fps) in PRESETS {
            let spec = SwingSpec::preset(w, h, fps);
            assert!((12.0..=20.0).contains(&spec.ball_diameter_px), "{w}x{h}: ball {} px", spec.ball_diameter_px);
            let flight = spec.frames - spec.impact_frame - 2;
            assert!(flight >= 8, "{w}x{h}@{fps}: only {flight} flight frames in the picture");
            assert!((spec.m_per_px * spec.ball_diameter_px - BALL_DIAMETER_M).abs() < 1e-12);
        }
    }

    #[test]
    fn same_seed_same_frames_other_seed_other_frames() {
        let spec = short(640, 360, 60.0, 3);
        let (a, ta) = render_swing(&spec);
        let (b, tb) = render_swing(&spec);
        assert_eq!(ta, tb);
        assert!(a.iter().zip(&b).all(|(x, y)| x.as_raw() == y.as_raw()), "same seed rendered differently");
        let (c, tc) = render_swing(&SwingSpec { seed: spec.seed + 1, ..spec.clone() });
        assert_eq!(tc.ball_centres, ta.ball_centres, "the path does not depend on the seed");
        assert!(a.iter().zip(&c).all(|(x, y)| x.as_raw() != y.as_raw()), "another seed rendered the same frame");
    }

    #[test]
    fn frame_count_and_size() {
        for (w, h, fps) in PRESETS {
            let spec = short(w, h, fps, 2);
            let (frames, truth) = render_swing(&spec);
            assert_eq!(frames.len(), spec.frames);
            assert!(frames.iter().all(|f| f.dimensions() == (w, h)));
            assert_eq!(truth.ball_centres.len(), spec.frames);
            assert_eq!(truth.club_centres.len(), spec.frames);
            assert_eq!(truth.club_boxes.len(), spec.frames);
        }
    }

    /// The flight integrated independently of the renderer (Heun's method, 1 µs steps): pixel
    /// centres `k / fps` after launch for k = 1..=n.
    fn physics_path(spec: &SwingSpec, tee: (f64, f64), n: usize) -> Vec<(f64, f64)> {
        let m = FlightModel::default();
        let k = 0.5 * m.air_density * PI * (m.diameter / 2.0).powi(2) / m.mass;
        let acc = |vx: f64, vy: f64| {
            let v = vx.hypot(vy);
            (-k * v * (m.cd * vx + m.cl * vy), -9.81 + k * v * (m.cl * vx - m.cd * vy))
        };
        let a = spec.launch_deg.to_radians();
        let (mut x, mut y, mut vx, mut vy) =
            (0.0f64, 0.0f64, spec.ball_speed_mps * a.cos(), spec.ball_speed_mps * a.sin());
        let steps_per_frame = 10_000;
        let h = 1.0 / spec.fps / steps_per_frame as f64;
        let mut out = Vec::new();
        for _ in 0..n {
            for _ in 0..steps_per_frame {
                let (ax, ay) = acc(vx, vy);
                let (pvx, pvy) = (vx + h * ax, vy + h * ay);
                let (bx, by) = acc(pvx, pvy);
                x += h / 2.0 * (vx + pvx);
                y += h / 2.0 * (vy + pvy);
                vx += h / 2.0 * (ax + bx);
                vy += h / 2.0 * (ay + by);
            }
            out.push((tee.0 + x / spec.m_per_px, tee.1 - y / spec.m_per_px));
        }
        out
    }

    #[test]
    fn the_ball_flies_under_gravity_drag_and_lift_and_the_truth_is_its_launch_velocity() {
        for (w, h, fps) in PRESETS {
            let spec = if w > 640 { short(w, h, fps, 4) } else { SwingSpec::preset(w, h, fps) };
            let (_, truth) = render_swing(&spec);
            assert_eq!((truth.ball_speed_mps, truth.launch_deg), (spec.ball_speed_mps, spec.launch_deg));
            assert!(truth.launched);
            let rel = |a: f64, b: f64| (a - b).abs() / b;
            assert!(rel(truth.club_speed_mps, spec.club_speed_mps) < 0.01, "{w}x{h}@{fps}: {truth:?}");
            assert_eq!(truth.impact_frame, spec.impact_frame);
            // The ball waits on the tee until impact, then moves every frame.
            let teed = truth.ball_centres[0].expect("teed ball in frame");
            assert_eq!(teed, truth.tee);
            assert!(truth.ball_centres[..=spec.impact_frame].iter().all(|c| *c == Some(teed)));
            assert!(truth.ball_states[..=spec.impact_frame].iter().all(|s| *s == BallState::Teed));
            let first = truth.ball_centres[spec.impact_frame + 1].expect("first flight frame in frame");
            assert!(first.0 > teed.0 && first.1 < teed.1, "flies right and up");
            // Every drawn centre is where the physics puts it.
            let flight: Vec<(f64, f64)> =
                truth.ball_centres[spec.impact_frame + 1..].iter().map_while(|c| *c).collect();
            for (k, (got, want)) in flight.iter().zip(physics_path(&spec, teed, flight.len())).enumerate() {
                let off = (got.0 - want.0).hypot(got.1 - want.1);
                assert!(off < 1e-3, "{w}x{h}@{fps} flight frame {}: {got:?} vs {want:?}", k + 1);
            }
            // Gravity bends the path: the chord over the first 8 flight frames is flatter than
            // the launch (what a window-mean velocity reads).
            if let (Some(a), Some(b)) = (flight.first(), flight.get(7)) {
                let chord = (a.1 - b.1).atan2(b.0 - a.0).to_degrees();
                assert!(chord < spec.launch_deg - 1.0, "{w}x{h}@{fps}: chord {chord:.2}° vs {}°", spec.launch_deg);
            }
            assert_eq!(ball_path(&spec).centres, truth.ball_centres, "ball_path is what is drawn");
        }
    }

    #[test]
    fn club_reaches_the_ball_at_impact() {
        for (w, h, fps) in PRESETS {
            let spec = short(w, h, fps, 1);
            let (_, truth) = render_swing(&spec);
            let ball = truth.ball_centres[spec.impact_frame].expect("teed ball");
            let r = spec.ball_diameter_px / 2.0;
            let gap = |i: usize| {
                let (_, _, x2, _) = truth.club_boxes[i].expect("head in frame around impact");
                ball.0 - r - x2
            };
            // The pipeline calls boxes within 2 px "touching".
            assert!(gap(spec.impact_frame) <= 2.0, "{w}x{h}@{fps}: gap {} at impact", gap(spec.impact_frame));
            assert!(gap(spec.impact_frame - 1) > 2.0, "{w}x{h}@{fps}: touching a frame early");
        }
    }

    #[test]
    fn ball_is_not_occluded_in_flight() {
        for (w, h, fps) in [(640, 360, 120.0), (640, 360, 60.0)] {
            let spec = SwingSpec::preset(w, h, fps);
            let (frames, truth) = render_swing(&spec);
            let r = spec.ball_diameter_px / 2.0;
            let mut flight = 0;
            for (i, frame) in frames.iter().enumerate().filter(|(i, _)| truth.ball_in_flight(*i, &spec)) {
                flight += 1;
                let (x, y) = truth.ball_centres[i].expect("in flight");
                if let Some((x1, y1, x2, y2)) = truth.club_boxes[i] {
                    let apart = x - r > x2 || x + r < x1 || y - r > y2 || y + r < y1;
                    assert!(apart, "{w}x{h}@{fps} frame {i}: head box overlaps the ball");
                }
                // The ball's core is bright against the grass.
                let mut sum = 0.0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let p = frame.get_pixel((x as i64 + dx) as u32, (y as i64 + dy) as u32);
                        sum += p.0.iter().map(|&v| f64::from(v)).sum::<f64>() / 3.0;
                    }
                }
                assert!(sum / 9.0 > 140.0, "{w}x{h}@{fps} frame {i}: ball core is dark ({})", sum / 9.0);
            }
            assert!(flight >= 8);
        }
    }

    /// Mean absolute difference of two frames, 8-bit levels.
    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| u64::from(x.abs_diff(y))).sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn a_phone_clip_holds_a_whole_swing_around_the_shot() {
        let spec = SwingSpec::phone(640, 360, 120.0, 4.0, 3.0);
        assert_eq!((spec.frames, spec.impact_frame, spec.swing), (480, 360, Swing::Full));
        let (frames, truth) = render_swing(&spec);
        assert_eq!(frames.len(), 480);
        let i0 = spec.impact_frame;
        assert!(truth.ball_states[..=i0].iter().all(|s| *s == BallState::Teed));
        assert_eq!(truth.ball_states[i0 + 1], BallState::Flying);
        assert!(truth.flight_frames(&spec) >= 8);
        assert_eq!(truth.flight_frames(&spec), spec.visible_flight_frames());
        // At address for seconds: the head held still, a ball's width or so behind the ball.
        let r = spec.ball_diameter_px / 2.0;
        let address = truth.club_boxes[0].expect("head in frame at address");
        assert!(truth.club_boxes[..120].iter().all(|b| *b == Some(address)), "the club is held still at address");
        assert!(address.2 < truth.tee.0 - r && address.2 > truth.tee.0 - r - 4.0 * spec.ball_diameter_px);
        // Held frames repeat their picture with fresh noise.
        let d = mean_abs_diff(&frames[10], &frames[11]);
        assert!(d > 1.0 && d < 6.0, "consecutive held frames differ by {d:.2} levels");
        // The backswing lifts the head (out of the picture at the top), the finish is held.
        let top = truth.club_boxes[i0 - (0.35 * spec.fps) as usize];
        assert!(top.is_none_or(|b| b.3 < address.1), "at the top the head is above address: {top:?}");
        let finish = truth.club_boxes[479];
        assert!(truth.club_boxes[440..].iter().all(|b| *b == finish), "the finish is held");
        // It reaches the ball at impact, not a frame earlier, at the spec's speed.
        let gap = |i: usize| truth.club_boxes[i].map_or(f64::INFINITY, |b| truth.tee.0 - r - b.2);
        assert!(gap(i0) <= 2.0 && gap(i0 - 1) > 2.0, "gaps {} {}", gap(i0 - 1), gap(i0));
        assert!((truth.club_speed_mps - spec.club_speed_mps).abs() / spec.club_speed_mps < 0.01);
    }

    #[test]
    fn a_whiff_leaves_the_ball_on_the_tee_under_the_passing_head() {
        let spec = SwingSpec { ball: Ball::Unstruck, ..SwingSpec::phone(640, 360, 120.0, 0.4, 0.2) };
        let (frames, truth) = render_swing(&spec);
        assert!(!truth.launched && truth.ball_speed_mps == 0.0);
        assert!(truth.ball_states.iter().all(|s| *s == BallState::Teed));
        assert!(truth.ball_centres.iter().all(|c| *c == Some(truth.tee)));
        // The head never touches the ball, and it passes right over it.
        let r = spec.ball_diameter_px / 2.0;
        let (x, y) = truth.tee;
        let apart = |b: &BBoxF| b.2 < x - r || b.0 > x + r || b.3 < y - r || b.1 > y + r;
        assert!(truth.club_boxes.iter().flatten().all(apart), "{:?}", truth.club_boxes);
        let over = truth.club_boxes[spec.impact_frame..].iter().flatten().any(|b| b.0 < x && b.2 > x && b.3 < y - r);
        assert!(over, "{:?}", &truth.club_boxes[spec.impact_frame..]);
        // The ball is drawn: bright on the grass in every frame.
        let (x, y) = truth.tee;
        assert!(frames.iter().all(|f| f.get_pixel(x as u32, y as u32).0.iter().all(|&v| v > 150)));
    }

    #[test]
    fn nobody_swinging_and_no_ball_are_still_scenes() {
        let still =
            SwingSpec { swing: Swing::Address, ball: Ball::Unstruck, ..SwingSpec::phone(640, 360, 60.0, 0.5, 0.3) };
        let (frames, truth) = render_swing(&still);
        assert!(truth.club_boxes.iter().all(|b| *b == truth.club_boxes[0] && b.is_some()));
        assert!(truth.ball_centres.iter().all(|c| *c == Some(truth.tee)));
        assert!(frames.windows(2).all(|f| f[0].as_raw() != f[1].as_raw()), "fresh noise every frame");
        // Without noise, a still scene is the same picture every frame.
        let (quiet, _) = render_swing(&SwingSpec { noise_sigma: 0.0, frames: 3, ..still.clone() });
        assert!(quiet.windows(2).all(|f| f[0].as_raw() == f[1].as_raw()));
        // No ball: nothing at the tee, in any frame, while the club still swings over it.
        let empty = SwingSpec { ball: Ball::Absent, ..SwingSpec::phone(640, 360, 60.0, 0.5, 0.3) };
        let (frames, truth) = render_swing(&empty);
        assert!(truth.ball_centres.iter().all(Option::is_none));
        assert!(truth.ball_states.iter().all(|s| *s == BallState::Absent));
        assert!(truth.club_boxes[empty.impact_frame].is_some());
        let (x, y) = truth.tee;
        let luma = |f: &RgbImage| f.get_pixel(x as u32, y as u32).0.iter().map(|&v| f64::from(v)).sum::<f64>() / 3.0;
        assert!(frames.iter().all(|f| luma(f) < 140.0), "no white ball on the tee");
    }

    #[test]
    fn a_quick_exit_is_out_of_the_picture_by_the_third_frame_after_launch() {
        for fps in [30.0, 60.0, 120.0, 240.0] {
            let spec = SwingSpec::phone_quick_exit(640, 360, fps, 1.0, 0.5);
            let path = ball_path(&spec);
            assert_eq!(path.states[spec.impact_frame + 3], BallState::Flying);
            assert!(path.centres[spec.impact_frame + 3..].iter().all(Option::is_none), "{fps} fps: {spec:?}");
            assert!(path.centres[spec.impact_frame] == Some(path.tee));
            assert!(spec.visible_flight_frames() <= 2, "{fps} fps");
            assert!(spec.ball_diameter_px >= 12.0 && spec.ball_diameter_px <= 40.0, "{fps} fps: {spec:?}");
        }
    }

    #[test]
    fn a_ball_that_comes_down_in_the_picture_stays_where_it_landed() {
        // 6 m/s at 20°: lands ~2.4 m out, inside a 640 px wide view of an 8 px ball (~2.7 m).
        let spec = SwingSpec { ball_speed_mps: 6.0, launch_deg: 20.0, ..SwingSpec::phone(640, 360, 60.0, 1.0, 0.1) }
            .with_ball_px(8.0);
        let path = ball_path(&spec);
        let landed = path.states.iter().position(|s| *s == BallState::Landed).expect("it lands in the clip");
        assert!(path.states[landed..].iter().all(|s| *s == BallState::Landed));
        let rest = path.centres[landed].expect("in the picture");
        assert!(path.centres[landed..].iter().all(|c| *c == Some(rest)));
        let ground_y = f64::from(spec.height) * GROUND_FRAC;
        assert!((rest.1 - (ground_y - 4.0)).abs() < 1e-9, "on the ground: {rest:?}");
        assert!(rest.0 > path.tee.0 + 300.0);
        let (_, truth) = render_swing(&SwingSpec { frames: landed + 2, ..spec.clone() });
        assert!(!truth.ball_in_flight(landed, &spec) && truth.ball_in_flight(landed - 5, &spec));
    }

    #[test]
    fn zip_holds_the_frames_in_time_order() {
        let spec = short(640, 360, 60.0, 1);
        let (frames, _) = render_swing(&spec);
        for (format, ext) in [(ImageFormat::Png, "png"), (ImageFormat::Jpeg, "jpg")] {
            let bytes = frames_zip(&frames, format);
            let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
            assert_eq!(zip.len(), frames.len());
            let mut names: Vec<String> = (0..zip.len())
                .map(|i| zip.by_index(i).expect("entry").name().expect("utf-8 name").to_string())
                .collect();
            names.sort();
            for (i, name) in names.iter().enumerate() {
                assert_eq!(name, &format!("frame_{i:04}.{ext}"));
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut zip.by_name(name).expect("entry"), &mut data).expect("read");
                let img = image::load_from_memory(&data).expect("decodes").to_rgb8();
                assert_eq!(img.dimensions(), (640, 360));
                if format == ImageFormat::Png {
                    assert_eq!(img.as_raw(), frames[i].as_raw(), "PNG is lossless");
                }
            }
        }
    }
}

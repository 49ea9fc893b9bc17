//! What to render: how the club moves ([`Swing`]), what happens to the ball ([`Ball`]), the clip's
//! parameters ([`SwingSpec`]) and its presets (a constant-speed sweep, a whole phone swing, a quick
//! exit).

use super::flight::Flight;
use super::layout::Layout;
use super::truth::ball_path;
use super::BALL_DIAMETER_M;

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
    pub(super) fn since_impact_s(&self, i: usize) -> f64 {
        self.frame_time_s(i) - self.frame_time_s(self.impact_frame)
    }

    /// The same scene with the ball `d` pixels across, i.e. the camera nearer or further:
    /// `m_per_px` follows so that the ball stays 42.67 mm.
    pub fn with_ball_px(self, d: f64) -> SwingSpec {
        SwingSpec { ball_diameter_px: d, m_per_px: BALL_DIAMETER_M / d, ..self }
    }

    /// Frames with the ball in flight entirely inside the picture ([`Truth::ball_in_flight`]),
    /// without drawing anything.
    ///
    /// [`Truth::ball_in_flight`]: super::Truth::ball_in_flight
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

    pub(super) fn validate(&self) {
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

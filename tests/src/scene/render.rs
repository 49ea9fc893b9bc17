//! Clip assembly: composes each frame (background and tee, shadow, club, ball, camera), reuses the
//! picture of a frame in which nothing moved, and records the ground truth of what was drawn.

use image::RgbImage;

use super::background::background;
use super::ball::{draw_ball, draw_ball_shadow, BallLook, Tee};
use super::camera::{Finish, NoiseField};
use super::canvas::{BBoxF, Canvas};
use super::club::Club;
use super::flight::BallFrames;
use super::layout::Layout;
use super::random::Rng;
use super::{Ball, SwingSpec, Truth, SHUTTER_S};

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

//! The tracer clip: from half a second before the launch to half a second after the flight left
//! the picture or ended, at the source rate, the line growing with the ball, as H.264 in an MP4.

use avencode::{EncodeOptions, Mp4Encoder};
use image::RgbImage;

use crate::draw::{draw_flight, draw_label, Style};
use crate::{fit_output, output_size, Flight, TracerError};

/// Seconds shown before the launch.
pub const LEAD_S: f64 = 0.5;
/// Seconds shown after the flight is over.
pub const TAIL_S: f64 = 0.5;
/// The dashed continuation grows for at most this long after the last measured point: a path
/// extrapolated further is a guess, not a flight.
pub const MAX_EXTRAPOLATED_S: f64 = 1.0;
/// The quality the clips are written at (OpenH264's QP range: sharp enough for a 4 px line at
/// 1080p, about 1 MB a second there).
const CLIP_QP: (u8, u8) = (20, 30);

/// Which clip frames a tracer clip shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipPlan {
    /// The first clip frame.
    pub first: usize,
    /// The last clip frame (inclusive).
    pub last: usize,
    /// The source's frame rate (the clip's).
    pub fps: f64,
    /// The frame the flight is over at: the label shows from here on.
    pub flight_end: f64,
}

impl ClipPlan {
    /// [`LEAD_S`] before `flight`'s launch to [`TAIL_S`] after its end (the dashed path's last
    /// point, at most [`MAX_EXTRAPOLATED_S`] after the last measured one), within the clip's
    /// `frames_total` frames. None for a flight that is not valid or a rate that is not positive.
    pub fn new(flight: &Flight, fps: f64, frames_total: usize) -> Option<ClipPlan> {
        if !(fps.is_finite() && fps > 0.0 && flight.is_valid()) || frames_total == 0 {
            return None;
        }
        let measured_end = flight.last_measured_frame();
        let extrapolated_end = flight.extrapolated.last().map_or(measured_end, |p| p.frame);
        let flight_end = extrapolated_end.min(measured_end + MAX_EXTRAPOLATED_S * fps).max(measured_end);
        let first = (flight.launch.frame - LEAD_S * fps).floor().max(0.0) as usize;
        let last = ((flight_end + TAIL_S * fps).ceil().max(0.0) as usize).min(frames_total - 1);
        (first <= last).then_some(ClipPlan { first, last, fps, flight_end })
    }

    /// The clip frames in order.
    pub fn frames(&self) -> std::ops::RangeInclusive<usize> {
        self.first..=self.last
    }
}

/// A tracer clip being written: [`TracerClip::push`] each frame of the plan in order, then
/// [`TracerClip::finish`]. Drawing and encoding can run on two threads: a [`Painter`] (from
/// [`TracerClip::painter`]) draws the frames on one while [`TracerClip::push_painted`] encodes
/// them on the other.
#[derive(Debug)]
pub struct TracerClip {
    plan: ClipPlan,
    painter: Painter,
    encoder: Mp4Encoder,
}

/// What draws a tracer clip's frames: the flight at the output scale, the style and the label.
#[derive(Debug, Clone)]
pub struct Painter {
    plan: ClipPlan,
    flight: Flight,
    label: Option<String>,
    source: (u32, u32),
    style: Style,
}

impl Painter {
    /// `frame` (clip frame `index`, the source's size) at the output size with the flight as it
    /// stands at that frame, and the label once the flight is over.
    pub fn paint(&self, index: usize, frame: RgbImage) -> Result<RgbImage, TracerError> {
        if frame.dimensions() != self.source {
            let (w, h) = frame.dimensions();
            return Err(TracerError(format!(
                "frame is {w}x{h}, the clip's source {}x{}",
                self.source.0, self.source.1
            )));
        }
        let at = index as f64;
        let mut img = fit_output(frame);
        draw_flight(&mut img, &self.flight, at, &self.style);
        if let Some(text) = self.label.as_deref().filter(|_| at >= self.plan.flight_end) {
            draw_label(&mut img, text, &self.flight.line_up_to(f64::INFINITY), &self.style);
        }
        Ok(img)
    }
}

impl TracerClip {
    /// A clip of `plan`'s frames of a `width` x `height` source, written at [`output_size`].
    pub fn new(
        plan: ClipPlan,
        flight: &Flight,
        label: Option<String>,
        width: u32,
        height: u32,
    ) -> Result<TracerClip, TracerError> {
        let (w, h, s) = output_size(width, height);
        let options = EncodeOptions { keyint: avencode::default_keyint(plan.fps), qp: CLIP_QP, fast: true };
        let painter =
            Painter { plan, flight: flight.scaled(s), label, source: (width, height), style: Style::for_frame(w, h) };
        Ok(TracerClip { plan, painter, encoder: Mp4Encoder::new(w, h, plan.fps, options)? })
    }

    /// What draws this clip's frames, for a thread of its own.
    pub fn painter(&self) -> Painter {
        self.painter.clone()
    }

    /// The clip frame the next [`TracerClip::push`] takes.
    pub fn next_frame(&self) -> usize {
        self.plan.first + self.encoder.frames()
    }

    /// Whether every frame of the plan has been pushed.
    pub fn is_complete(&self) -> bool {
        self.next_frame() > self.plan.last
    }

    /// Draws the flight as it stands at the next frame on `frame` (the source's size) and
    /// encodes it.
    pub fn push(&mut self, frame: RgbImage) -> Result<(), TracerError> {
        let painted = self.painter.paint(self.next_frame(), frame)?;
        self.push_painted(painted)
    }

    /// Encodes the next frame, already painted by [`Painter::paint`] for [`TracerClip::next_frame`].
    pub fn push_painted(&mut self, painted: RgbImage) -> Result<(), TracerError> {
        if self.is_complete() {
            return Err(TracerError(format!("the clip ends at frame {}", self.plan.last)));
        }
        Ok(self.encoder.push(&painted)?)
    }

    /// The MP4, once every frame of the plan was pushed.
    pub fn finish(self) -> Result<Vec<u8>, TracerError> {
        if !self.is_complete() {
            return Err(TracerError(format!(
                "the clip got frames up to {}, not {}",
                self.next_frame(),
                self.plan.last
            )));
        }
        Ok(self.encoder.finish()?)
    }
}

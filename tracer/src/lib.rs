//! The shot tracer: a measured ball flight drawn over the golfer's own footage, as a still
//! ([`render_still`], the run's `preview.jpg`) and as a short H.264 clip in which the line grows
//! with the ball ([`TracerClip`], the run's `tracer.mp4`).
//!
//! What is drawn (see [`draw`]):
//! - the measured flight as a smooth line (a Catmull-Rom spline through the tracked ball centres),
//!   from the launch point on;
//! - the fitted ballistic path past the last measured point, dashed, to the frame edge;
//! - a ring on the launch point;
//! - on the still (and on the clip once the flight is over), a label with ball speed, launch angle
//!   and carry in the client's [`Units`].
//!
//! The geometry comes in as a [`Flight`] in the source frame's pixels and clip frame numbers; the
//! shot pipeline builds it. Output is capped at 1080p ([`output_size`]) and drawn at that size, so
//! lines and text are as crisp at 720p as at 4K.

pub mod clip;
pub mod draw;
pub mod label;
mod still;

pub use clip::{ClipPlan, Painter, TracerClip};
pub use label::{Label, Units};
pub use still::{encode_jpeg, render_still, STILL_MAX_BYTES};

/// Why a tracer could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tracer: {0}")]
pub struct TracerError(pub String);

impl From<avencode::EncodeError> for TracerError {
    fn from(e: avencode::EncodeError) -> TracerError {
        TracerError(e.0)
    }
}

/// Where the ball's centre is (image pixels, x right, y down) at a clip frame (fractional for
/// points of a fitted path).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightPoint {
    /// Clip frame number.
    pub frame: f64,
    /// Pixels from the left edge.
    pub x: f64,
    /// Pixels from the top edge.
    pub y: f64,
}

impl FlightPoint {
    fn scaled(self, s: f64) -> FlightPoint {
        FlightPoint { frame: self.frame, x: self.x * s, y: self.y * s }
    }

    fn finite(self) -> bool {
        self.frame.is_finite() && self.x.is_finite() && self.y.is_finite()
    }
}

/// A shot's flight as the tracer draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    /// Where the ball left from: the ball at rest when it was seen, else the fitted path at the
    /// launch time.
    pub launch: FlightPoint,
    /// The tracked ball centres after the launch, in frame order.
    pub measured: Vec<FlightPoint>,
    /// The fitted path after the last measured point, from that point on, until it leaves the
    /// picture: drawn dashed.
    pub extrapolated: Vec<FlightPoint>,
}

impl Flight {
    /// The frame of the last measured point (the launch's without any).
    pub fn last_measured_frame(&self) -> f64 {
        self.measured.last().map_or(self.launch.frame, |p| p.frame)
    }

    /// Whether every coordinate is a finite number and the points are in frame order.
    pub fn is_valid(&self) -> bool {
        let all = std::iter::once(&self.launch).chain(&self.measured).chain(&self.extrapolated);
        all.clone().all(|p| p.finite())
            && self.measured.windows(2).all(|w| w[0].frame <= w[1].frame)
            && self.extrapolated.windows(2).all(|w| w[0].frame <= w[1].frame)
    }

    /// The solid line's points as it stands at clip frame `upto`: the launch, then the measured
    /// points up to that frame (`f64::INFINITY`: all of them).
    pub fn line_up_to(&self, upto: f64) -> Vec<FlightPoint> {
        std::iter::once(self.launch).chain(self.measured.iter().copied().filter(|p| p.frame <= upto)).collect()
    }

    /// The same flight in an image scaled by `s`.
    pub fn scaled(&self, s: f64) -> Flight {
        Flight {
            launch: self.launch.scaled(s),
            measured: self.measured.iter().map(|p| p.scaled(s)).collect(),
            extrapolated: self.extrapolated.iter().map(|p| p.scaled(s)).collect(),
        }
    }
}

/// The largest tracer output: 1080p, either way up.
pub const MAX_OUTPUT: (u32, u32) = (1920, 1080);

/// The size a `width` x `height` frame is drawn and stored at, and the scale from source pixels:
/// at most [`MAX_OUTPUT`] (long side 1920, short side 1080), never enlarged, even width and
/// height (H.264 4:2:0).
pub fn output_size(width: u32, height: u32) -> (u32, u32, f64) {
    let (long, short) = (width.max(height).max(1) as f64, width.min(height).max(1) as f64);
    let s = (f64::from(MAX_OUTPUT.0) / long).min(f64::from(MAX_OUTPUT.1) / short).min(1.0);
    let even = |v: u32| ((f64::from(v) * s) as u32 & !1).max(2);
    (even(width), even(height), s)
}

/// `frame` at [`output_size`]: shrunk when larger (a bilinear convolution, so a 2x shrink averages
/// rather than skips pixels), cropped by a pixel when odd.
pub fn fit_output(frame: image::RgbImage) -> image::RgbImage {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let (w, h, s) = output_size(frame.width(), frame.height());
    if s < 1.0 {
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        let shrunk =
            ImageRef::new(frame.width(), frame.height(), frame.as_raw(), PixelType::U8x3).ok().and_then(|src| {
                let mut dst = Image::new(w, h, PixelType::U8x3);
                Resizer::new().resize(&src, &mut dst, &options).ok()?;
                image::RgbImage::from_raw(w, h, dst.into_vec())
            });
        // The crate refuses only sizes `output_size` never gives; image's resize is the fallback.
        shrunk.unwrap_or_else(|| image::imageops::resize(&frame, w, h, image::imageops::FilterType::Triangle))
    } else if (w, h) != frame.dimensions() {
        image::imageops::crop_imm(&frame, 0, 0, w, h).to_image()
    } else {
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped_at_1080p_either_way_up_and_even() {
        assert_eq!(output_size(1280, 720), (1280, 720, 1.0));
        assert_eq!(output_size(3840, 2160), (1920, 1080, 0.5));
        assert_eq!(output_size(2160, 3840), (1080, 1920, 0.5));
        let (w, h, s) = output_size(1441, 1080);
        assert_eq!((w, h, s), (1440, 1080, 1.0));
        assert_eq!(fit_output(image::RgbImage::new(1441, 1079)).dimensions(), (1440, 1078));
        assert_eq!(fit_output(image::RgbImage::new(3840, 2160)).dimensions(), (1920, 1080));
    }

    #[test]
    fn a_flight_with_a_nan_or_out_of_order_points_is_invalid() {
        let p = |frame: f64, x: f64| FlightPoint { frame, x, y: 10.0 };
        let ok = Flight { launch: p(0.0, 0.0), measured: vec![p(1.0, 1.0), p(2.0, 2.0)], extrapolated: vec![] };
        assert!(ok.is_valid());
        assert!(!Flight { measured: vec![p(2.0, 1.0), p(1.0, 2.0)], ..ok.clone() }.is_valid());
        assert!(!Flight { launch: p(0.0, f64::NAN), ..ok.clone() }.is_valid());
        assert_eq!(ok.scaled(0.5).measured[1].x, 1.0);
        assert_eq!(ok.last_measured_frame(), 2.0);
    }
}

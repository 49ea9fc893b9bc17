//! The camera: its response (gain, colour temperature, vignette), Gaussian sensor noise fresh in
//! every frame, and 8-bit quantisation into the frame's image.

use image::RgbImage;

use super::canvas::Canvas;
use super::random::Rng;

/// Sensor noise: one field of N(0, σ) values, a frame's worth plus [`NOISE_SHIFT`], drawn once per
/// clip; each frame adds the field from its own random offset. Within a frame every value is
/// independent; from frame to frame the noise moves by a random shift, so it is never the same
/// at a pixel twice in a row, and a frame costs an addition per value instead of a random draw.
pub(super) struct NoiseField(Vec<f32>);

/// Range of the per-frame offsets into the noise field, in values.
const NOISE_SHIFT: usize = 1 << 16;

impl NoiseField {
    pub(super) fn new(seed: u64, sigma: f64, values: usize) -> NoiseField {
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
    pub(super) fn frame(&self, rng: &mut Rng) -> &[f32] {
        let off = (rng.next_u64() % NOISE_SHIFT as u64) as usize;
        &self.0[off..off + self.0.len() - NOISE_SHIFT]
    }
}

/// Camera response: gain, colour temperature, vignette; then noise and 8-bit quantisation.
pub(super) struct Finish {
    gain: [f64; 3],
    vignette: Vec<f32>,
}

impl Finish {
    pub(super) fn new(rng: &mut Rng, w: usize, h: usize) -> Finish {
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
    pub(super) fn base(&self, canvas: &Canvas) -> Vec<f32> {
        let mut out = Vec::with_capacity(canvas.px.len() * 3);
        for (p, &v) in canvas.px.iter().zip(&self.vignette) {
            for (c, g) in p.iter().zip(self.gain) {
                out.push((f64::from(*c) * g * f64::from(v) * 255.0) as f32);
            }
        }
        out
    }

    /// The frame: `base` plus `noise`, rounded half up to 8 bits.
    pub(super) fn apply(&self, base: &[f32], w: usize, h: usize, noise: &[f32]) -> RgbImage {
        // `as u8` saturates: below 0 gives 0, above 255 gives 255 (and this way it vectorises).
        let raw: Vec<u8> = base.iter().zip(noise).map(|(&b, &n)| (b + n + 0.5) as u8).collect();
        RgbImage::from_raw(w as u32, h as u32, raw).expect("w x h x 3 values")
    }
}

//! When each frame was captured: a clip's frame times from its sample timestamps, or a constant
//! rate. The physics (launch fit, club speed) measures time with it, so a phone's jittering
//! "120 fps" gives speeds over the true intervals rather than over 1/120 s.

use std::sync::Arc;

/// Frame times of one clip. Frame `k`'s time is `times[k]` where the table has it, else
/// extrapolated from the table's end at the nominal rate (or `k / fps` without a table).
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    fps: f64,
    times: Option<Arc<[f64]>>,
    /// The clip frame that frame 0 of this view is (see [`Clock::from_frame`]).
    offset: usize,
}

impl Clock {
    /// Frames `1 / fps` apart.
    pub fn constant(fps: f64) -> Clock {
        Clock { fps, times: None, offset: 0 }
    }

    /// The measured times of frames `0..times.len()` in seconds (non-decreasing), at a nominal
    /// rate of `fps` (used past the table and to turn seconds into frame counts). A table that is
    /// not finite and non-decreasing is ignored.
    pub fn from_times(times: Vec<f64>, fps: f64) -> Clock {
        let ordered = times.iter().all(|t| t.is_finite()) && times.windows(2).all(|w| w[0] <= w[1]);
        let times = (ordered && times.len() >= 2).then(|| Arc::from(times));
        Clock { fps, times, offset: 0 }
    }

    /// The same clock with frame 0 at clip frame `first` (an analysis window's frames are
    /// numbered from its start).
    pub fn from_frame(&self, first: usize) -> Clock {
        Clock { offset: self.offset + first, ..self.clone() }
    }

    /// The nominal frames per second.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Whether the times are measured (a table) rather than assumed (a constant rate).
    pub fn is_measured(&self) -> bool {
        self.times.is_some()
    }

    /// Frame `frame`'s time in seconds.
    pub fn t(&self, frame: usize) -> f64 {
        let k = frame + self.offset;
        match &self.times {
            Some(times) => match times.get(k) {
                Some(&t) => t,
                None => times.last().copied().unwrap_or(0.0) + (k + 1 - times.len()) as f64 / self.fps,
            },
            None => k as f64 / self.fps,
        }
    }

    /// Seconds from frame `a` to frame `b`.
    pub fn between(&self, a: usize, b: usize) -> f64 {
        self.t(b) - self.t(a)
    }

    /// The (fractional) frame shown `dt` seconds after frame `frame`: interpolated between the
    /// frames around it, at the nominal rate outside the table.
    pub fn frame_after(&self, frame: usize, dt: f64) -> f64 {
        let target = self.t(frame) + dt;
        let Some(times) = &self.times else { return frame as f64 + dt * self.fps };
        let view = times.get(self.offset..).unwrap_or(&[]);
        let i = view.partition_point(|&t| t <= target);
        match (i.checked_sub(1).and_then(|j| view.get(j)), view.get(i)) {
            (Some(&t0), Some(&t1)) if t1 > t0 => (i - 1) as f64 + (target - t0) / (t1 - t0),
            (Some(&t0), _) => (i - 1) as f64 + (target - t0) * self.fps,
            (None, Some(&t1)) => (target - t1) * self.fps,
            (None, None) => frame as f64 + dt * self.fps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_times_and_their_edges() {
        let c = Clock::from_times(vec![0.0, 0.008, 0.017, 0.025], 120.0);
        assert!(c.is_measured());
        assert_eq!((c.t(2), c.between(1, 3)), (0.017, 0.025 - 0.008));
        assert!((c.t(5) - (0.025 + 2.0 / 120.0)).abs() < 1e-12, "past the table: the nominal rate");
        let w = c.from_frame(1);
        assert_eq!((w.t(0), w.t(1)), (0.008, 0.017));
        assert!((c.frame_after(0, 0.0125) - 1.5).abs() < 1e-9);
        assert!((w.frame_after(0, 0.0125) - (1.0 + 0.0035 / 0.008)).abs() < 1e-9, "{}", w.frame_after(0, 0.0125));
        assert!((c.frame_after(3, -0.0085) - (1.0 + 0.0085 / 0.009)).abs() < 1e-9);
        let k = Clock::constant(60.0);
        assert!(!k.is_measured());
        assert_eq!((k.t(30), k.frame_after(30, -0.5)), (0.5, 0.0));
        assert!(!Clock::from_times(vec![0.0, 0.02, 0.01], 60.0).is_measured(), "out of order: ignored");
        assert!(!Clock::from_times(vec![0.0, f64::NAN], 60.0).is_measured());
    }
}

//! Clips shaped the way phones record them, written by Debian's `ffmpeg` program (libx264,
//! libx265; `make setup` installs it): H.264 or HEVC (8- or 10-bit, HDR-tagged), in MP4, QuickTime
//! MOV or fragmented MP4, stored sideways or mirrored under a display matrix, with an audio and a
//! timecode track, jittering sample timestamps, or an iPhone-style slow-motion edit list. Also
//! ffmpeg's own decode of a clip, to check a decoder against.
//!
//! The display matrix and the slow-motion edit are written into the finished file in place (same
//! sizes, so no offset moves): the test controls exactly what a phone would have written, which
//! ffmpeg 5.1's command line cannot (mirrors, edit rates).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use image::RgbImage;

use crate::EncodeError;

/// The video codec of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 High profile with B-frames (libx264), `avc1`.
    H264,
    /// HEVC Main (libx265), `hvc1` as iPhones tag it.
    Hevc,
    /// HEVC Main 10 tagged as HLG HDR (BT.2020), as iPhones record HDR video.
    Hevc10Hdr,
    /// HEVC Main with the parameter sets in-band too, `hev1` (many Android phones).
    HevcHev1,
}

/// The container of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO MP4, movie header first.
    Mp4,
    /// QuickTime `.mov`, movie header last (as a phone finishes a recording).
    Mov,
    /// Fragmented MP4: an empty movie header, then `moof`/`mdat` pairs.
    FragmentedMp4,
}

/// How to write a clip; [`PhoneClip::new`] gives an upright, constant-rate clip without audio.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneClip {
    /// Codec.
    pub codec: Codec,
    /// Container.
    pub container: Container,
    /// Nominal frames per second.
    pub fps: f64,
    /// The display matrix `[a, b, c, d]` (signs) a player applies: a stored pixel (x, y) is shown
    /// at (a·x + c·y, b·x + d·y). The frames given to [`PhoneClip::encode`] are what is shown;
    /// they are stored turned back. `[0, 1, -1, 0]`: stored sideways, shown a quarter turn
    /// clockwise (a phone held upright).
    pub display: [i8; 4],
    /// An AAC audio track beside the video.
    pub audio: bool,
    /// A QuickTime timecode track (MOV only).
    pub timecode: bool,
    /// Frame `i` is stamped at `i / fps + jitter_s · sin(2.399963 · i)` (see [`jittered_time`]).
    pub jitter_s: f64,
    /// An edit list that plays the clip this many times slower than captured (iPhone slow motion).
    pub slow_motion: Option<u32>,
    /// A keyframe every this many frames (phones: about one a second).
    pub keyint: u32,
}

/// The presentation time [`PhoneClip`] gives frame `i` at `fps` with `jitter_s` of jitter.
pub fn jittered_time(i: usize, fps: f64, jitter_s: f64) -> f64 {
    i as f64 / fps + jitter_s * (2.399963 * i as f64).sin()
}

/// Whether the `ffmpeg` program is on PATH.
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

impl PhoneClip {
    /// An upright, constant-rate clip at `fps` without audio, a keyframe a second.
    pub fn new(codec: Codec, container: Container, fps: f64) -> PhoneClip {
        PhoneClip {
            codec,
            container,
            fps,
            display: [1, 0, 0, 1],
            audio: false,
            timecode: false,
            jitter_s: 0.0,
            slow_motion: None,
            keyint: crate::default_keyint(fps),
        }
    }

    /// The file name extension of the container.
    pub fn extension(&self) -> &'static str {
        match self.container {
            Container::Mov => "mov",
            _ => "mp4",
        }
    }

    /// Encodes `shown` (the frames as a viewer sees them, all one size with even sides).
    pub fn encode(&self, shown: &[RgbImage]) -> Result<Vec<u8>, EncodeError> {
        let first = shown.first().ok_or_else(|| EncodeError("no frames".into()))?;
        let stored: Vec<RgbImage> = shown.iter().map(|f| orient(f, inverse(self.display))).collect();
        let (w, h) = stored[0].dimensions();
        if shown.iter().any(|f| f.dimensions() != first.dimensions()) {
            return Err(EncodeError("frames differ in size".into()));
        }
        let dir = tempfile::tempdir().map_err(|e| EncodeError(e.to_string()))?;
        let out = dir.path().join(format!("clip.{}", self.extension()));
        let mut args: Vec<String> = vec!["-v".into(), "error".into(), "-y".into()];
        let fps = format!("{}", self.fps);
        args.extend(
            ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{w}x{h}"), "-framerate", &fps, "-i", "-"]
                .map(String::from),
        );
        if self.audio {
            args.extend(["-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000"].map(String::from));
        }
        // A fine time base first, so the jittered stamps are not rounded back onto the frame grid.
        if self.jitter_s != 0.0 {
            let jitter = format!("settb=1/90000,setpts='(N/{fps}+{}*sin(N*2.399963))/TB'", self.jitter_s);
            args.extend(["-vf".into(), jitter]);
        }
        args.extend(["-fps_mode", "passthrough"].map(String::from));
        args.extend(["-map", "0:v"].map(String::from));
        if self.audio {
            args.extend(["-map", "1:a", "-c:a", "aac", "-shortest"].map(String::from));
        }
        let keyint = self.keyint.max(1).to_string();
        match self.codec {
            Codec::H264 => args.extend(
                [
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", "-g", &keyint,
                    "-bf", "2",
                ]
                .map(String::from),
            ),
            Codec::Hevc | Codec::HevcHev1 | Codec::Hevc10Hdr => {
                let ten = self.codec == Codec::Hevc10Hdr;
                let params = format!("log-level=error:keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0");
                args.extend(
                    ["-c:v", "libx265", "-preset", "veryfast", "-crf", "18", "-x265-params", &params].map(String::from),
                );
                args.extend(["-pix_fmt", if ten { "yuv420p10le" } else { "yuv420p" }].map(String::from));
                args.extend(["-tag:v", if self.codec == Codec::HevcHev1 { "hev1" } else { "hvc1" }].map(String::from));
                if ten {
                    args.extend(
                        ["-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc"]
                            .map(String::from),
                    );
                }
            }
        }
        args.extend(
            ["-enc_time_base:v", "1/90000", "-video_track_timescale", "90000", "-use_editlist", "1"].map(String::from),
        );
        if self.timecode {
            args.extend(["-timecode", "01:00:00:00"].map(String::from));
        }
        match self.container {
            Container::Mp4 => args.extend(["-movflags", "+faststart"].map(String::from)),
            Container::Mov => {}
            Container::FragmentedMp4 => {
                args.extend(["-movflags", "frag_keyframe+empty_moov+default_base_moof"].map(String::from))
            }
        }
        args.push(out.display().to_string());
        run_ffmpeg(&args, stored.iter().map(|f| f.as_raw().as_slice()))?;
        let mut bytes = std::fs::read(&out).map_err(|e| EncodeError(e.to_string()))?;
        if self.display != [1, 0, 0, 1] {
            set_display_matrix(&mut bytes, self.display)?;
        }
        if let Some(n) = self.slow_motion {
            slow_down(&mut bytes, n)?;
        }
        Ok(bytes)
    }
}

/// Runs ffmpeg with `args`, writing `input` chunks to its standard input.
fn run_ffmpeg<'a>(args: &[String], input: impl Iterator<Item = &'a [u8]>) -> Result<(), EncodeError> {
    let mut child = Command::new("ffmpeg")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| EncodeError(format!("cannot run ffmpeg ({e}); `make setup` installs it")))?;
    let mut stdin = child.stdin.take().ok_or_else(|| EncodeError("no stdin".into()))?;
    for chunk in input {
        if stdin.write_all(chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().map_err(|e| EncodeError(e.to_string()))?;
    if !out.status.success() {
        return Err(EncodeError(format!("ffmpeg {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr))));
    }
    Ok(())
}

/// ffmpeg's own decode of a video file as RGB frames (`-pix_fmt rgb24`), upright by ffmpeg's
/// autorotate, the first `frames` of them; each frame is `width * height * 3` bytes. The scaler
/// takes each pixel's chroma from the sample covering it, with accurate rounding (`neighbor`,
/// `accurate_rnd`, `full_chroma_int`): the conversion `analyze` does. ffmpeg's default fast path
/// interpolates chroma and, for 10-bit input, rounds coarsely (34 dB from an exact conversion).
pub fn ffmpeg_decode_rgb(file: &Path, width: u32, height: u32, frames: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-frames:v", &frames.to_string(), "-fps_mode", "passthrough"])
        .args(["-sws_flags", "neighbor+accurate_rnd+full_chroma_int", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .map_err(|e| EncodeError(format!("cannot run ffmpeg ({e})")))?;
    if !out.status.success() {
        return Err(EncodeError(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let size = (width * height * 3) as usize;
    Ok(out.stdout.chunks_exact(size).map(<[u8]>::to_vec).collect())
}

/// The inverse of a display matrix (signed permutations: the transpose).
fn inverse([a, b, c, d]: [i8; 4]) -> [i8; 4] {
    [a, c, b, d]
}

/// `img` under the display matrix `m` (see [`PhoneClip::display`]).
pub fn orient(img: &RgbImage, m: [i8; 4]) -> RgbImage {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let [a, b, c, d] = m.map(i64::from);
    let (ow, oh) = (a.abs() * w + c.abs() * h, b.abs() * w + d.abs() * h);
    let x0 = a.min(0) * (w - 1) + c.min(0) * (h - 1);
    let y0 = b.min(0) * (w - 1) + d.min(0) * (h - 1);
    let mut out = RgbImage::new(ow as u32, oh as u32);
    for (x, y, px) in img.enumerate_pixels() {
        let (x, y) = (i64::from(x), i64::from(y));
        out.put_pixel((a * x + c * y - x0) as u32, (b * x + d * y - y0) as u32, *px);
    }
    out
}

/// Finds the first box of type `kind` at or after `from` by walking the box tree from the top
/// (containers descended into), returning its start.
fn find_box(bytes: &[u8], kind: &[u8; 4]) -> Option<usize> {
    const CONTAINERS: [&[u8; 4]; 6] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"];
    fn walk(bytes: &[u8], start: usize, end: usize, kind: &[u8; 4]) -> Option<usize> {
        let mut at = start;
        while at + 8 <= end {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
            let size = if size == 0 { end - at } else { size };
            if size < 8 || at + size > end {
                return None;
            }
            let k = &bytes[at + 4..at + 8];
            if k == kind {
                return Some(at);
            }
            if CONTAINERS.iter().any(|c| c.as_slice() == k) {
                if let Some(found) = walk(bytes, at + 8, at + size, kind) {
                    return Some(found);
                }
                // Only the first track (the video, mapped first) is searched.
                if k == b"trak" {
                    return None;
                }
            }
            at += size;
        }
        None
    }
    walk(bytes, 0, bytes.len(), kind)
}

/// Writes `m` into the video track's `tkhd` matrix (16.16 fixed point).
pub fn set_display_matrix(bytes: &mut [u8], m: [i8; 4]) -> Result<(), EncodeError> {
    let at = find_box(bytes, b"tkhd").ok_or_else(|| EncodeError("no tkhd".into()))?;
    let version = bytes[at + 8];
    // Header (8), version/flags (4), times and ids: 20 (v0) or 32 (v1), reserved 8, layer,
    // alternate group, volume, reserved (8): the matrix follows.
    let matrix_at = at + 12 + if version == 1 { 32 } else { 20 } + 8 + 8;
    for (i, v) in m.iter().enumerate() {
        let value = i32::from(*v) * 0x10000;
        // a, b, u, c, d, v, x, y, w: a at 0, b at 1, c at 3, d at 4.
        let slot = [0, 1, 3, 4][i];
        bytes[matrix_at + 4 * slot..matrix_at + 4 * slot + 4].copy_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

/// Makes the video track's edit list play its media `n` times slower than captured, as iPhone
/// slow motion does: the first edit lasts `n` times as long at a media rate of 1/n.
pub fn slow_down(bytes: &mut [u8], n: u32) -> Result<(), EncodeError> {
    let at = find_box(bytes, b"elst").ok_or_else(|| EncodeError("no elst (write with -use_editlist 1)".into()))?;
    let version = bytes[at + 8];
    let entry = at + 16;
    let (dur_len, time_len) = if version == 1 { (8, 8) } else { (4, 4) };
    let dur = bytes[entry..entry + dur_len].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) * u64::from(n);
    bytes[entry..entry + dur_len].copy_from_slice(&dur.to_be_bytes()[8 - dur_len..]);
    let rate_at = entry + dur_len + time_len;
    let rate = (0x10000 / n.max(1)) as i32;
    bytes[rate_at..rate_at + 4].copy_from_slice(&rate.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orient_and_its_inverse_round_trip() {
        let img = RgbImage::from_fn(4, 2, |x, y| image::Rgb([x as u8, y as u8, 0]));
        for m in [[1, 0, 0, 1], [0, 1, -1, 0], [-1, 0, 0, -1], [0, -1, 1, 0], [-1, 0, 0, 1], [0, 1, 1, 0]] {
            assert_eq!(orient(&orient(&img, m), inverse(m)), img, "{m:?}");
        }
        // A quarter turn clockwise: the top-left pixel lands top-right.
        let cw = orient(&img, [0, 1, -1, 0]);
        assert_eq!((cw.dimensions(), cw.get_pixel(1, 0).0), ((2, 4), [0, 0, 0]));
    }
}

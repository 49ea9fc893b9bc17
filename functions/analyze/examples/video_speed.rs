//! Decode speed of `analyze::video`: encodes a 3 s, 120 fps, 1280x720 clip with
//! `clipkit::encode_mp4` (a panning textured background with per-frame sensor-like noise and a
//! moving 10 px ball, so the stream has real motion and residuals), then times `decode_frames`
//! over it, upright and with a 90° rotation matrix, and splits the cost between OpenH264's
//! decoding and its YUV→RGB conversion (`write_rgb8`) on the same bitstream.
//!
//! `cargo run --release -p analyze --example video_speed`

use std::io::Cursor;
use std::time::Instant;

use analyze::video::decode_frames;
use clipkit::encode_mp4;
use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

const W: u32 = 1280;
const H: u32 = 720;
const FPS: f64 = 120.0;
const FRAMES: u32 = 360;

fn hash(mut v: u64) -> u64 {
    v ^= v >> 33;
    v = v.wrapping_mul(0xff51_afd7_ed55_8ccd);
    v ^= v >> 33;
    v = v.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    v ^ (v >> 33)
}

/// Centre of the ball in frame `i`.
fn ball(i: u32) -> (u32, u32) {
    (40 + i * 3, 500 - i)
}

/// Frame `i`: grass-like texture panning 2 px a frame, ±6 levels of noise that changes every
/// frame, and a white ball of radius 5 crossing the frame.
fn frame(i: u32) -> image::RgbImage {
    let (bx, by) = ball(i);
    image::RgbImage::from_fn(W, H, |x, y| {
        if x.abs_diff(bx).pow(2) + y.abs_diff(by).pow(2) <= 25 {
            return image::Rgb([250, 250, 250]);
        }
        let texture = (hash(u64::from(y / 2) << 20 | u64::from((x + 2 * i) / 2)) % 48) as i32;
        let noise = (hash(u64::from(i) << 40 | u64::from(y) << 16 | u64::from(x)) % 13) as i32 - 6;
        let g = (90 + texture + noise).clamp(0, 255) as u8;
        image::Rgb([g / 3, g, g / 4])
    })
}

/// Times `decode_frames` over the whole clip, best of three; returns frames per second.
fn time_decode(mp4: &[u8]) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let (info, frames) = decode_frames(mp4, None).expect("open");
        let mut n = 0;
        for f in frames {
            let f = std::hint::black_box(f.expect("frame"));
            // The 10 px ball survived encoding (its centre, in the upright frame).
            let (bx, by) = ball(n);
            let (x, y) = if info.rotation_deg == 90 { (H - 1 - by, bx) } else { (bx, by) };
            let at = ((y * f.width + x) * 3) as usize;
            assert!(f.rgb[at..at + 3].iter().all(|&c| c > 200), "frame {n}: ball lost");
            n += 1;
        }
        assert_eq!((n, info.fps), (FRAMES, Some(FPS)));
        best = best.min(t.elapsed().as_secs_f64());
    }
    f64::from(FRAMES) / best
}

/// The clip's samples as Annex B access units (SPS and PPS in front of the first), read with the
/// `mp4` crate, which handles this single-track file fine.
fn annex_b(mp4: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = mp4::Mp4Reader::read_header(Cursor::new(mp4), mp4.len() as u64).expect("mp4");
    let track = reader.tracks().values().next().expect("track");
    let id = track.track_id();
    let avcc = &track.trak.mdia.minf.stbl.stsd.avc1.as_ref().expect("avc1").avcc;
    let mut header = Vec::new();
    for nal in avcc.sequence_parameter_sets.iter().chain(&avcc.picture_parameter_sets) {
        header.extend_from_slice(&[0, 0, 0, 1]);
        header.extend_from_slice(&nal.bytes);
    }
    let count = track.sample_count();
    (1..=count)
        .map(|n| {
            let sample = reader.read_sample(id, n).expect("read").expect("sample");
            let mut out = if n == 1 { header.clone() } else { Vec::new() };
            let mut rest = &sample.bytes[..];
            while rest.len() >= 4 {
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(&rest[4..4 + len]);
                rest = &rest[4 + len..];
            }
            out
        })
        .collect()
}

fn main() {
    let t = Instant::now();
    let mp4 = encode_mp4((0..FRAMES).map(frame), FPS).expect("encode");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "encode_mp4: {FRAMES} frames {W}x{H} in {secs:.1} s ({:.0} frames/s), {} KB ({:.1} Mbit/s at {FPS} fps)",
        f64::from(FRAMES) / secs,
        mp4.len() / 1024,
        mp4.len() as f64 * 8.0 / (f64::from(FRAMES) / FPS) / 1e6
    );

    let fps = time_decode(&mp4);
    println!("decode_frames (demux + decode + YUV->RGB): {fps:.0} frames/s ({:.2} ms/frame)", 1000.0 / fps);

    // The same clip with a portrait phone's matrix (0 1 -1 0): every frame also gets turned.
    let mut rotated = mp4.clone();
    let tkhd = rotated.windows(4).position(|w| w == b"tkhd").expect("tkhd");
    let matrix = tkhd + 4 + 40; // type, then version/flags, times, id, duration, layer, volume
    for (i, v) in [0i32, 0x10000, 0, -0x10000, 0].into_iter().enumerate() {
        rotated[matrix + 4 * i..matrix + 4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    assert_eq!(analyze::video::probe(&rotated).expect("probe").rotation_deg, 90);
    let fps = time_decode(&rotated);
    println!("decode_frames with a 90° rotation: {fps:.0} frames/s ({:.2} ms/frame)", 1000.0 / fps);

    let packets = annex_b(&mp4);
    for convert in [false, true] {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
            let mut decoder = Decoder::with_api_config(OpenH264API::from_source(), config).expect("decoder");
            let mut rgb = vec![0u8; (W * H * 3) as usize];
            let t = Instant::now();
            let mut n = 0;
            for p in &packets {
                if let Some(yuv) = decoder.decode(p).expect("decode") {
                    if convert {
                        assert_eq!(yuv.dimensions(), (W as usize, H as usize));
                        yuv.write_rgb8(&mut rgb);
                    }
                    n += 1;
                }
            }
            assert_eq!(n, FRAMES);
            best = best.min(t.elapsed().as_secs_f64());
        }
        let fps = f64::from(FRAMES) / best;
        let what = if convert { "decode + write_rgb8" } else { "decode only" };
        println!("openh264 {what}: {fps:.0} frames/s ({:.2} ms/frame)", 1000.0 / fps);
    }
}

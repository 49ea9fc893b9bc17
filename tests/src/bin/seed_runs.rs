//! Seeds a file run store for the dashboard's browser tests (and for a look at the dashboard by
//! hand): `seed_runs RUN_STORE_DIR [COUNT]`.
//!
//! The pattern is fixed: run `i` is created `i * 2h25m` before the anchor (spread over about a week
//! for the default 70 runs), with status, kind and variant cycling so that every status (queued,
//! processing, succeeded, failed), every kind and both variants appear, failed video runs included.
//! Succeeded runs carry the metrics the drawer shows (range runs have no club speed, so the drawer's
//! "—" shows too); failed runs carry an error code and message; the newest run (a succeeded image
//! run) has an annotated `preview.png` (a run from before the tracer), and the newest succeeded
//! video run a shot tracer: `preview.jpg` and `tracer.mp4` drawn by the real tracer on a rendered
//! swing, with the `tracer` object in its result. Lifecycle timestamps are set from the anchor through
//! `Run::apply`, so durations look real. The anchor is the current time rounded down to the minute,
//! or `SEED_ANCHOR` (RFC 3339) for identical timestamps across runs; ids keep their random bits.
//!
//! Prints one JSON line on stdout describing what it seeded (ids the tests look for, counts).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use common::run_store::RunStore;
use common::runs::{InferenceTiming, ModelVariant, OverrideSource, Run, RunId, RunKind, RunStatus, Transition};
use common::storage::file::FileBlobStore;
use serde_json::json;

/// Runs seeded when no count is given: three pages at 25 and then some.
const DEFAULT_COUNT: usize = 70;
/// Time between consecutive runs (70 runs span about seven days).
const SPACING_MINUTES: i64 = 145;

/// The status cycle: mostly terminal, like a real store, with every state present.
const STATUSES: [RunStatus; 10] = [
    RunStatus::Succeeded,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Succeeded,
    RunStatus::Processing,
    RunStatus::Succeeded,
    RunStatus::Queued,
    RunStatus::Failed,
    RunStatus::Succeeded,
    RunStatus::Succeeded,
];

const FAILURES: [(&str, &str); 4] = [
    ("INVALID_ZIP", "the upload is not a readable zip of frames"),
    ("NO_BALL_DETECTED", "no ball was found in any frame"),
    ("VIDEO_DECODE_FAILED", "the video could not be decoded (unsupported codec)"),
    ("INFERENCE_TIMEOUT", "inference did not finish within 30 s"),
];

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: seed_runs RUN_STORE_DIR [COUNT]   (SEED_ANCHOR=RFC3339 pins the timestamps)");
        std::process::exit(2);
    };
    let count = match args.next().map(|c| c.parse::<usize>()) {
        None => DEFAULT_COUNT,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("COUNT must be a positive integer");
            std::process::exit(2);
        }
    };
    let anchor = match std::env::var("SEED_ANCHOR").ok().filter(|s| !s.trim().is_empty()) {
        Some(s) => match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                eprintln!("SEED_ANCHOR={s:?} is not an RFC 3339 time: {e}");
                std::process::exit(2);
            }
        },
        None => Utc::now().duration_trunc(Duration::minutes(1)).unwrap_or_else(|_| Utc::now()),
    };
    match seed(RunStore::new(Arc::new(FileBlobStore::new(dir))), anchor, count).await {
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprintln!("seeding failed: {e}");
            std::process::exit(1);
        }
    }
}

/// What run `i` looks like.
struct Plan {
    created: DateTime<Utc>,
    status: RunStatus,
    kind: RunKind,
    variant: ModelVariant,
}

fn plan(anchor: DateTime<Utc>, i: usize) -> Plan {
    let n = i64::try_from(i).unwrap_or(i64::MAX);
    // A few seconds of deterministic jitter so times do not all end in :00.
    let created = anchor - Duration::minutes(SPACING_MINUTES * n) - Duration::seconds((n * 17) % 53);
    let kind = [RunKind::Image, RunKind::Video, RunKind::Range][i % 3];
    let variant = if (i / 3).is_multiple_of(2) { ModelVariant::Yolov10 } else { ModelVariant::Yolov11 };
    Plan { created, status: STATUSES[i % STATUSES.len()], kind, variant }
}

fn record(i: usize, p: &Plan) -> Result<Run, String> {
    let n = u32::try_from(i).unwrap_or(u32::MAX);
    let mut new = golfiq_tests::new_run(p.kind, p.variant);
    let frames: u64 = match p.kind {
        RunKind::Image => 8 + u64::from(n % 5) * 4,
        RunKind::Video => 240 + u64::from(n % 7) * 30,
        RunKind::Range => 1,
    };
    let (input_type, filename, size) = match p.kind {
        RunKind::Image => ("zip", format!("swing-{i:03}.zip"), 180_000 + u64::from(n) * 1_337),
        RunKind::Video => ("video", format!("swing-{i:03}.mp4"), 4_200_000 + u64::from(n) * 91_001),
        RunKind::Range => ("range", format!("range-{i:03}.json"), 2_048 + u64::from(n) * 13),
    };
    new.inputs.input_type = input_type.into();
    new.inputs.filename = Some(filename);
    new.inputs.content_length = Some(size);
    new.inputs.frame_count = Some(frames);
    new.params = json!({"fps": if p.kind == RunKind::Video { 240 } else { 120 }, "ref_len_m": 1.0});
    new.override_source = [OverrideSource::EnvDefault, OverrideSource::Header, OverrideSource::Flag][(i / 2) % 3];
    if i % 4 == 1 {
        new.run_name = Some(format!("bay {} session", 1 + i % 6));
    }

    let run = Run::queued(RunId::at(p.created), new);
    let started = p.created + Duration::milliseconds(120 + i64::from(n % 9) * 35);
    let per_frame = match p.variant {
        ModelVariant::Yolov10 => 6.5 + f64::from(n % 5) * 0.4,
        ModelVariant::Yolov11 => 7.8 + f64::from(n % 5) * 0.4,
    };
    let total_ms = round2(per_frame * frames as f64 + 85.0 + f64::from(n % 11) * 9.0);
    let finished = started + Duration::milliseconds(total_ms.round() as i64);
    let timing = InferenceTiming { total_ms, avg_ms_per_frame: round2(per_frame), frame_count: frames };

    let steps: Vec<(Transition, DateTime<Utc>)> = match p.status {
        RunStatus::Queued => vec![],
        RunStatus::Processing => vec![(Transition::Start, started)],
        RunStatus::Succeeded => vec![
            (Transition::Start, started),
            (
                Transition::Succeed { timing: Some(timing), result: metrics(i, p.kind), frame_count: Some(frames) },
                finished,
            ),
        ],
        RunStatus::Failed => {
            let (code, message) = FAILURES[(i / 2) % FAILURES.len()];
            let partial = InferenceTiming { total_ms: round2(total_ms / 3.0), ..timing };
            vec![
                (Transition::Start, started),
                (
                    Transition::Fail { error_code: code.into(), message: message.into(), timing: Some(partial) },
                    finished - Duration::milliseconds((total_ms * 2.0 / 3.0) as i64),
                ),
            ]
        }
    };
    steps.into_iter().try_fold(run, |run, (t, at)| run.apply(&t, at).map_err(|e| e.to_string()))
}

/// The metrics summary of a succeeded run; range runs measure the ball only.
fn metrics(i: usize, kind: RunKind) -> serde_json::Value {
    let n = f64::from(u32::try_from(i).unwrap_or(0));
    let ball_mps = 52.0 + (n * 7.3) % 26.0;
    let launch = 9.0 + (n * 3.7) % 12.0;
    let carry = 120.0 + (ball_mps - 52.0) * 4.1 + launch * 1.5;
    let club_mps = ball_mps / 1.46;
    let mut m = json!({
        "ball_speed_mps": round2(ball_mps),
        "ball_speed_mph": round2(ball_mps * 2.236_936),
        "launch_deg": round2(launch),
        "side_deg": round2(((n * 1.9) % 8.0) - 4.0),
        "carry_m": round2(carry),
    });
    if kind != RunKind::Range {
        m["club_speed_mps"] = json!(round2(club_mps));
        m["club_speed_mph"] = json!(round2(club_mps * 2.236_936));
    }
    m
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn seed(store: RunStore, anchor: DateTime<Utc>, count: usize) -> Result<serde_json::Value, String> {
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut first_failed = None;
    let mut first_queued = None;
    let mut preview_run = None;
    let mut tracer_run = None;
    let mut runs = Vec::with_capacity(count);
    for i in 0..count {
        let p = plan(anchor, i);
        let mut run = record(i, &p)?;
        if tracer_run.is_none() && run.status == RunStatus::Succeeded && run.kind == Some(RunKind::Video) {
            let t = tracer_media(i)?;
            if let Some(r) = run.result.as_mut() {
                r["tracer"] = t.summary;
            }
            store.put_artifact(run.run_id, "preview.jpg", &t.still).await.map_err(|e| e.to_string())?;
            store.put_artifact(run.run_id, "tracer.mp4", &t.clip).await.map_err(|e| e.to_string())?;
            tracer_run = Some(run.run_id);
        }
        store.import(&run).await.map_err(|e| e.to_string())?;
        if preview_run.is_none() && run.status == RunStatus::Succeeded && run.kind == Some(RunKind::Image) {
            store.put_artifact(run.run_id, "preview.png", &preview_png()).await.map_err(|e| e.to_string())?;
            preview_run = Some(run.run_id);
        }
        if run.status == RunStatus::Failed {
            first_failed.get_or_insert(run.run_id);
        }
        if run.status == RunStatus::Queued {
            first_queued.get_or_insert(run.run_id);
        }
        *by_status.entry(run.status.as_str()).or_default() += 1;
        *by_kind.entry(run.kind.map_or("none", |k| k.as_str())).or_default() += 1;
        runs.push(json!({"run_id": run.run_id, "status": run.status, "kind": run.kind,
            "model_variant": run.model_variant_selected,
            "created_at": run.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)}));
    }
    Ok(json!({
        "count": count,
        "anchor": anchor.to_rfc3339_opts(SecondsFormat::Millis, true),
        "by_status": by_status,
        "by_kind": by_kind,
        "preview_run_id": preview_run,
        "tracer_run_id": tracer_run,
        "failed_run_id": first_failed,
        "queued_run_id": first_queued,
        "runs": runs,
    }))
}

// ---------------------------------------------------------------- a shot tracer

struct TracerMedia {
    still: Vec<u8>,
    clip: Vec<u8>,
    summary: serde_json::Value,
}

/// The tracer of a rendered 640x360 60 fps swing, drawn from its true ball positions, labelled
/// with run `i`'s metrics.
fn tracer_media(i: usize) -> Result<TracerMedia, String> {
    use analyze::tracer::{render_still, ClipPlan, Flight, FlightPoint, Label, TracerClip, Units};
    let fps = 60.0;
    let mut spec = golfiq_tests::scene::SwingSpec::preset(640, 360, fps);
    spec.frames += 20;
    let (frames, truth) = golfiq_tests::scene::render_swing(&spec);
    let at = |f: usize, (x, y): (f64, f64)| FlightPoint { frame: f as f64, x, y };
    let flying: Vec<FlightPoint> =
        (truth.impact_frame + 1..frames.len()).map_while(|f| truth.ball_centres[f].map(|c| at(f, c))).collect();
    let measured: Vec<FlightPoint> =
        flying.iter().copied().filter(|p| truth.ball_in_flight(p.frame as usize, &spec)).collect();
    let last = *measured.last().ok_or("the rendered ball never flew")?;
    let extrapolated = flying.iter().copied().filter(|p| p.frame >= last.frame).collect();
    let flight = Flight { launch: at(truth.impact_frame, truth.tee), measured, extrapolated };
    let m = metrics(i, RunKind::Video);
    let label = Label {
        ball_speed_mps: m["ball_speed_mps"].as_f64().unwrap_or(0.0),
        launch_deg: m["launch_deg"].as_f64().unwrap_or(0.0),
        carry_m: m["carry_m"].as_f64().unwrap_or(0.0),
    }
    .text(Units::Metric);
    let plan = ClipPlan::new(&flight, fps, frames.len()).ok_or("no clip plan")?;
    let mut clip = TracerClip::new(plan, &flight, Some(label.clone()), 640, 360).map_err(|e| e.to_string())?;
    for f in plan.frames() {
        clip.push(frames[f].clone()).map_err(|e| e.to_string())?;
    }
    let still_frame = last.frame as usize;
    let still = render_still(frames[still_frame].clone(), &flight, Some(&label)).map_err(|e| e.to_string())?;
    Ok(TracerMedia {
        still,
        clip: clip.finish().map_err(|e| e.to_string())?,
        summary: json!({"still_frame": still_frame, "frames": [plan.first, plan.last], "clip": true,
            "units": "metric", "ms": 0.0}),
    })
}

// ---------------------------------------------------------------- a tiny PNG encoder

/// A 240x135 "annotated frame": sky, fairway, a ball flight traced in dots, a box around the ball.
fn preview_png() -> Vec<u8> {
    const W: usize = 240;
    const H: usize = 135;
    let mut px = vec![[0u8; 3]; W * H];
    for y in 0..H {
        for x in 0..W {
            px[y * W + x] = if y < 88 {
                let t = (y * 60 / 88) as u8;
                [120 + t, 170 + t / 2, 230]
            } else {
                let stripe = if (x / 24) % 2 == 0 { 0 } else { 10 };
                [46 + stripe, 128 + stripe, 64]
            };
        }
    }
    let mut disc = |cx: f64, cy: f64, r: f64, c: [u8; 3]| {
        for y in 0..H {
            for x in 0..W {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                if dx * dx + dy * dy <= r * r {
                    px[y * W + x] = c;
                }
            }
        }
    };
    // The traced flight: a parabola from the tee at (30, 100).
    for k in 0..18 {
        let t = f64::from(k) / 17.0;
        disc(30.0 + 180.0 * t, 100.0 - 150.0 * t + 120.0 * t * t, 1.6, [255, 214, 10]);
    }
    disc(30.0, 100.0, 4.0, [255, 255, 255]);
    // The detector's box around the ball.
    for x in 22..=38 {
        for y in [92usize, 108] {
            px[y * W + x] = [230, 40, 40];
        }
    }
    for y in 92..=108 {
        for x in [22usize, 38] {
            px[y * W + x] = [230, 40, 40];
        }
    }
    let mut raw = Vec::with_capacity(H * (1 + W * 3));
    for row in px.chunks(W) {
        raw.push(0); // filter: none
        raw.extend(row.iter().flatten());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend((W as u32).to_be_bytes());
    ihdr.extend((H as u32).to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A zlib stream of uncompressed ("stored") deflate blocks: valid, simple, a little large.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(*block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

//! Decoding the two output layouts into detections (in model-input pixels), and class-aware NMS.
//!
//! - YOLOv10 end-to-end head `[1, N, 6]`: rows `[x1, y1, x2, y2, score, class_id]`, meant to be one
//!   box per object; keep rows above the score threshold, then NMS within each class all the same.
//!   The one-to-one head is not duplicate-free at the low thresholds the ball needs: on the real
//!   validation photos (issue 28) 317 of 504 false balls at 0.077 were near-copies (IoU ~0.9) of a
//!   found ball, scored lower. NMS drops them; no two labelled balls there overlap that much
//!   (the closest pair: IoU 0.16), and the strobed PiTrac frames keep their recall.
//! - YOLO11 raw head `[1, 4 + nc, A]`, channel-major: for each anchor `[cx, cy, w, h, s_0 .. s_nc-1]`;
//!   take the best class per anchor, threshold, then NMS within each class.

use crate::detection::{BBox, Class, Detection};

/// The score threshold of a model whose manifest has none, and of callers that use none.
pub const DEFAULT_SCORE: f32 = 0.25;

/// Detection thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minimum score kept for every class, as the caller sets it; `None`: each class's calibrated
    /// threshold (`class_scores`), else [`DEFAULT_SCORE`].
    pub score: Option<f32>,
    /// Minimum score kept per class, by class id: the variant's calibrated thresholds (its
    /// manifest's `class_score_thresholds`, else its single `score_threshold`). The loader fills
    /// it; a caller's `score` overrides it.
    pub class_scores: Option<[f32; Class::ALL.len()]>,
    /// IoU above which NMS suppresses the lower-scored box of the same class.
    pub iou: f32,
    /// Most detections returned per frame.
    pub max_detections: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { score: None, class_scores: None, iou: 0.5, max_detections: 100 }
    }
}

impl Thresholds {
    /// The score threshold in force for `class`.
    pub fn min_score_for(&self, class: Class) -> f32 {
        self.score.or(self.class_scores.map(|s| s[class.id()])).unwrap_or(DEFAULT_SCORE)
    }

    /// The thresholds in force, for logs and reports: `0.25`, or `golf_ball 0.15, club_head 0.31`.
    pub fn describe(&self) -> String {
        let scores = Class::ALL.map(|c| self.min_score_for(c));
        if scores.iter().all(|s| *s == scores[0]) {
            return scores[0].to_string();
        }
        Class::ALL.iter().zip(scores).map(|(c, s)| format!("{} {s}", c.as_str())).collect::<Vec<_>>().join(", ")
    }
}

/// Decodes a `[1, rows, 6]` end-to-end output and applies class-aware NMS (see the module note).
pub fn decode_end_to_end(data: &[f32], rows: usize, t: &Thresholds) -> Vec<Detection> {
    let out: Vec<Detection> = data
        .chunks_exact(6)
        .take(rows)
        .filter_map(|r| {
            let class = Class::from_id(r[5].round().max(0.0) as usize)?;
            (r[4] >= t.min_score_for(class) && r[4].is_finite()).then(|| Detection {
                class,
                score: r[4],
                bbox: BBox::new(r[0], r[1], r[2], r[3]),
            })
        })
        .collect();
    let mut kept = nms(out, t.iou);
    kept.truncate(t.max_detections);
    kept
}

/// Decodes a `[1, 4 + classes, anchors]` raw output and applies class-aware NMS.
pub fn decode_raw(data: &[f32], classes: usize, anchors: usize, t: &Thresholds) -> Vec<Detection> {
    if data.len() < (4 + classes) * anchors {
        return Vec::new();
    }
    let at = |c: usize, a: usize| data[c * anchors + a];
    let mut candidates = Vec::new();
    for a in 0..anchors {
        let (mut best, mut best_score) = (0, f32::MIN);
        for c in 0..classes {
            let s = at(4 + c, a);
            if s > best_score {
                (best, best_score) = (c, s);
            }
        }
        let Some(class) = Class::from_id(best) else { continue };
        if best_score < t.min_score_for(class) || !best_score.is_finite() {
            continue;
        }
        let bbox = BBox::from_center(at(0, a), at(1, a), at(2, a), at(3, a));
        candidates.push(Detection { class, score: best_score, bbox });
    }
    let mut kept = nms(candidates, t.iou);
    kept.truncate(t.max_detections);
    kept
}

/// Class-aware non-maximum suppression: highest score first, a box is dropped when it overlaps a
/// kept box of the same class by more than `iou`. Boxes of different classes never suppress each
/// other (a ball sitting on the club face stays).
pub fn nms(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len().min(64));
    for d in dets {
        if kept.iter().all(|k| k.class != d.class || k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: Class, score: f32, x: f32, y: f32, s: f32) -> Detection {
        Detection { class, score, bbox: BBox::new(x, y, x + s, y + s) }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_same_class_boxes_only() {
        let dets = vec![
            det(Class::GolfBall, 0.6, 10.0, 10.0, 10.0),
            det(Class::GolfBall, 0.9, 11.0, 11.0, 10.0), // overlaps the first: wins
            det(Class::GolfBall, 0.5, 100.0, 100.0, 10.0), // far away: kept
            det(Class::ClubHead, 0.4, 10.0, 10.0, 10.0), // other class at the same place: kept
        ];
        let kept = nms(dets, 0.5);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].score, 0.9);
        assert!(kept.iter().any(|d| d.class == Class::ClubHead));
        assert!(!kept.iter().any(|d| d.score == 0.6));
        // Touching but below the IoU threshold: both stay.
        let kept = nms(vec![det(Class::GolfBall, 0.9, 0.0, 0.0, 10.0), det(Class::GolfBall, 0.8, 6.0, 0.0, 10.0)], 0.5);
        assert_eq!(kept.len(), 2);
        assert!(nms(Vec::new(), 0.5).is_empty());
    }

    #[test]
    fn end_to_end_rows_are_thresholded_and_sorted() {
        #[rustfmt::skip]
        let data = [
            10.0, 20.0, 30.0, 40.0, 0.80, 0.0,
            50.0, 60.0, 90.0, 100.0, 0.95, 1.0,
            1.0, 1.0, 2.0, 2.0, 0.10, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.99, 7.0,  // unknown class id: dropped
        ];
        let out = decode_end_to_end(&data, 4, &Thresholds::default());
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].class, out[0].score), (Class::ClubHead, 0.95));
        assert_eq!(out[1].bbox, BBox::new(10.0, 20.0, 30.0, 40.0));
    }

    #[test]
    fn end_to_end_near_copies_of_a_box_are_suppressed_but_touching_balls_stay() {
        #[rustfmt::skip]
        let data = [
            100.0, 100.0, 140.0, 140.0, 0.60, 0.0, // a ball
            102.0, 101.0, 141.0, 142.0, 0.09, 0.0, // its near-copy, scored lower: dropped
            140.0, 100.0, 180.0, 140.0, 0.30, 0.0, // the ball touching it: kept
            101.0, 100.0, 141.0, 140.0, 0.20, 1.0, // a club head on the ball: other class, kept
        ];
        let out = decode_end_to_end(&data, 4, &Thresholds { score: Some(0.05), ..Thresholds::default() });
        let got: Vec<_> = out.iter().map(|d| (d.class, d.score)).collect();
        assert_eq!(got, vec![(Class::GolfBall, 0.60), (Class::GolfBall, 0.30), (Class::ClubHead, 0.20)]);
    }

    #[test]
    fn each_class_keeps_its_own_threshold_unless_the_caller_sets_one_for_all() {
        #[rustfmt::skip]
        let data = [
            10.0, 20.0, 30.0, 40.0, 0.20, 0.0, // ball above its 0.15
            50.0, 60.0, 90.0, 100.0, 0.25, 1.0, // head below its 0.30
            1.0, 1.0, 2.0, 2.0, 0.10, 0.0, // ball below its 0.15
        ];
        let per_class = Thresholds { class_scores: Some([0.15, 0.30]), ..Thresholds::default() };
        let out = decode_end_to_end(&data, 3, &per_class);
        assert_eq!(out.iter().map(|d| (d.class, d.score)).collect::<Vec<_>>(), vec![(Class::GolfBall, 0.20)]);
        assert_eq!(per_class.describe(), "golf_ball 0.15, club_head 0.3");
        let uniform = Thresholds { score: Some(0.05), ..per_class };
        assert_eq!(decode_end_to_end(&data, 3, &uniform).len(), 3);
        assert_eq!(uniform.describe(), "0.05");
        // The raw layout applies the threshold of the anchor's best class.
        #[rustfmt::skip]
        let raw = [
            100.0, 300.0, // cx
            200.0, 400.0, // cy
            10.0, 60.0,   // w
            10.0, 40.0,   // h
            0.20, 0.10,   // ball score
            0.05, 0.25,   // head score
        ];
        let out = decode_raw(&raw, 2, 2, &per_class);
        assert_eq!(out.iter().map(|d| (d.class, d.score)).collect::<Vec<_>>(), vec![(Class::GolfBall, 0.20)]);
    }

    #[test]
    fn raw_channel_major_output_decodes_centres_and_suppresses_duplicates() {
        // 4 anchors, 2 classes: channels cx, cy, w, h, s_ball, s_head.
        let anchors = 4;
        #[rustfmt::skip]
        let data = [
            100.0, 101.0, 300.0, 5.0,   // cx
            200.0, 200.0, 400.0, 5.0,   // cy
            10.0, 10.0, 60.0, 2.0,      // w
            10.0, 10.0, 40.0, 2.0,      // h
            0.9, 0.7, 0.1, 0.2,         // ball score
            0.1, 0.2, 0.8, 0.1,         // head score
        ];
        let out = decode_raw(&data, 2, anchors, &Thresholds::default());
        assert_eq!(out.len(), 2, "{out:?}");
        let ball = out.iter().find(|d| d.class == Class::GolfBall).expect("ball");
        assert_eq!(ball.score, 0.9);
        assert_eq!(ball.bbox.center(), (100.0, 200.0));
        let head = out.iter().find(|d| d.class == Class::ClubHead).expect("head");
        assert_eq!(head.bbox, BBox::new(270.0, 380.0, 330.0, 420.0));
        assert!(
            decode_raw(&data[..10], 2, anchors, &Thresholds::default()).is_empty(),
            "short tensors decode to nothing"
        );
    }
}

//! What a detector returns: classes, boxes in original-frame pixels, and scores.

use serde::Serialize;

/// The two classes the project's detectors know, in model class-id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Class 0.
    GolfBall,
    /// Class 1.
    ClubHead,
}

impl Class {
    /// Every class, in model id order.
    pub const ALL: [Class; 2] = [Class::GolfBall, Class::ClubHead];

    /// The model class id.
    pub fn id(self) -> usize {
        self as usize
    }

    /// The class for a wire name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The class for a model class id.
    pub fn from_id(id: usize) -> Option<Class> {
        Class::ALL.get(id).copied()
    }

    /// The wire name (`golf_ball`, `club_head`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::GolfBall => "golf_ball",
            Class::ClubHead => "club_head",
        }
    }
}

/// An axis-aligned box, corners in pixels (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    /// Left.
    pub x1: f32,
    /// Top.
    pub y1: f32,
    /// Right.
    pub x2: f32,
    /// Bottom.
    pub y2: f32,
}

impl BBox {
    /// A box from corners.
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> BBox {
        BBox { x1, y1, x2, y2 }
    }

    /// A box from centre and size.
    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> BBox {
        BBox { x1: cx - w / 2.0, y1: cy - h / 2.0, x2: cx + w / 2.0, y2: cy + h / 2.0 }
    }

    /// Width (0 when inverted).
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    /// Height (0 when inverted).
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    /// Area.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Centre point.
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// Intersection over union, 0 for disjoint or empty boxes.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// The box clamped into a `width` x `height` frame.
    pub fn clamp(&self, width: f32, height: f32) -> BBox {
        BBox {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
        }
    }
}

/// One detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// What it is.
    pub class: Class,
    /// Confidence in 0..1.
    pub score: f32,
    /// Where, in pixels of the frame given to the detector.
    pub bbox: BBox,
}

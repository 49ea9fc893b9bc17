//! Where an analysis reads its frames: one abstraction over a zip of frames and a video (a single
//! image is one frame and needs none), giving frames by index (ascending within one read) and re-readable, so the launch search
//! can stream through a clip once and the dense pass, the native-resolution crops and the preview
//! can come back for the frames they need. Keeping a whole clip decoded would cost gigabytes
//! (10 s of 240 fps 1080p is 15 GB of RGB); decoding a frame again costs milliseconds.

use common::error::ApiError;

use crate::frames::{DecodedFrame, IngestError, ZipFrames};
use crate::video::{self, VideoError, VideoFrames, VideoInfo};

/// Frames one read yields, in the order asked for; an `Err` ends it.
/// `Send`, so a decoding thread can run ahead of its consumer.
pub type FrameIter<'s> = Box<dyn Iterator<Item = Result<DecodedFrame, ApiError>> + Send + 's>;

/// Frames by index.
pub trait FrameSource: Send {
    /// Frames this source gives (indices `0..len()`).
    fn len(&self) -> usize;

    /// True when there are no frames.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frames at `indices` (ascending; indices past the end are not yielded), decoded lazily:
    /// a caller that stops early has decoded only what it took.
    fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_>;
}

/// An ingestion failure as the API error of its documented code.
pub fn ingest_error(e: IngestError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// A video failure as the API error of its documented code.
pub fn video_error(e: VideoError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// A zip of frames: every entry decodes on its own, so any index is one decode away.
#[derive(Debug)]
pub struct ZipSource<'a>(pub ZipFrames<'a>);

impl FrameSource for ZipSource<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_> {
        let n = self.0.len();
        let zip = &mut self.0;
        Box::new(indices.into_iter().filter(move |i| *i < n).map(move |i| zip.frame(i).map_err(ingest_error)))
    }
}

/// A video: decoded in presentation order by one live decoder that goes on from where the last
/// read stopped; a read that starts before that point restarts the decoder at the last keyframe
/// at or before it (`video::decode_range`).
pub struct VideoSource<'a> {
    bytes: &'a [u8],
    info: VideoInfo,
    len: usize,
    /// The decoder and the index of the frame it yields next.
    live: Option<(usize, VideoFrames<'a>)>,
}

impl std::fmt::Debug for VideoSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSource").field("info", &self.info).field("len", &self.len).finish()
    }
}

impl<'a> VideoSource<'a> {
    /// Opens a video whose first `max_frames` frames are the source.
    pub fn open(bytes: &'a [u8], max_frames: usize) -> Result<Self, ApiError> {
        let info = video::probe(bytes).map_err(video_error)?;
        let len = usize::try_from(info.frame_count).unwrap_or(usize::MAX).min(max_frames);
        Ok(VideoSource { bytes, info, len, live: None })
    }

    /// What the container says.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }
}

impl FrameSource for VideoSource<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn frames(&mut self, indices: Vec<usize>) -> FrameIter<'_> {
        let len = self.len;
        let mut wanted = indices.into_iter().filter(move |i| *i < len).peekable();
        let Some(&first) = wanted.peek() else { return Box::new(std::iter::empty()) };
        if self.live.as_ref().is_none_or(|(next, _)| *next > first) {
            match video::decode_range(self.bytes, first, Some(len)) {
                Ok((_, frames)) => self.live = Some((first, frames)),
                Err(e) => return Box::new(std::iter::once(Err(video_error(e)))),
            }
        }
        let Some((next, frames)) = self.live.as_mut() else { return Box::new(std::iter::empty()) };
        // A frame the decoder read past (one it could not put out) is an error at its index, so
        // every item still answers the index asked for.
        let mut held: Option<(usize, DecodedFrame)> = None;
        Box::new(std::iter::from_fn(move || {
            let want = *wanted.peek()?;
            loop {
                let (index, frame) = match held.take() {
                    Some(h) => h,
                    None => match frames.next()? {
                        Ok(frame) => (frames.last_index().unwrap_or(*next), frame),
                        Err(e) => {
                            wanted.next();
                            return Some(Err(video_error(e)));
                        }
                    },
                };
                *next = index + 1;
                if index < want {
                    continue;
                }
                wanted.next();
                if index == want {
                    return Some(Ok(frame));
                }
                held = Some((index, frame));
                return Some(Err(video_error(VideoError::Decode(format!("frame {want} did not decode")))));
            }
        }))
    }
}

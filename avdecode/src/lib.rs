//! libavcodec as the H.264 and HEVC decoder: finding and loading FFmpeg 5.1's shared libraries at
//! run time (once per process), one decoder per [`Decoder`], and each decoded picture handed out
//! as borrowed planes ([`Picture`]).
//!
//! Why loaded at run time (`libloading`), as ONNX Runtime is: the crate then builds and its other
//! routes run without FFmpeg, and a missing library is an API error (`VIDEO_DECODER_UNAVAILABLE`,
//! with how to install it), not a binary that will not start. The libraries are the ones
//! `scripts/setup-ffmpeg.sh` builds from Debian's FFmpeg 5.1 source with only the H.264 and HEVC
//! decoders (LGPL-2.1-or-later); see docs/ARCHITECTURE.md for the choice.
//!
//! Lookup order: `FFMPEG_LIB_DIR`; then `.ffmpeg/lib` in the working directory or any folder
//! above it or above the executable; then `/opt/lib` (the Lambda layer) and `/opt/ffmpeg/lib`
//! (the container image). `libavutil.so.57` is loaded first, from the same folder, so that
//! `libavcodec.so.59`'s dependency on it resolves to that copy.
//!
//! ABI: only functions and a handful of leading struct fields are used, at the offsets of
//! libavcodec 59 / libavutil 57 on 64-bit Linux (checked once with `offsetof` against the built
//! headers, and guarded at load by the libraries' own version numbers). Codecs are found by name
//! and pixel formats read by name, so no enum value is hard-coded beyond the media type.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::path::PathBuf;
use std::sync::OnceLock;

use libloading::Library;

const AVCODEC: &str = "libavcodec.so.59";
const AVUTIL: &str = "libavutil.so.57";
/// Why a decoder could not be had or a picture could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The libraries are missing, of another version, or lack the decoder; the message says how
    /// to install them.
    #[error("{0}")]
    Unavailable(String),
    /// The bitstream or its configuration does not decode.
    #[error("{0}")]
    Decode(String),
    /// The stream decodes to a pixel format that is not converted (named).
    #[error("video in the pixel format {0} (8-bit YUV 4:2:0, 4:2:2 or 4:4:4, 10-bit 4:2:0 or 4:2:2, is read)")]
    PixelFormat(String),
}

const HINT: &str = "install it with `make setup` (scripts/setup-ffmpeg.sh builds FFmpeg 5.1's decoders from Debian's source into .ffmpeg/lib) or point FFMPEG_LIB_DIR at a folder holding libavcodec.so.59 and libavutil.so.57";

/// FFmpeg's `AVERROR(EAGAIN)` and `AVERROR_EOF`.
const AVERROR_EAGAIN: c_int = -11;
const AVERROR_EOF: c_int = -0x2046_4f45; // -MKTAG('E','O','F',' ')
/// Bytes of zeroed padding libavcodec may read past the end of extradata and packets.
const INPUT_PADDING: usize = 64;
const AV_LOG_QUIET: c_int = -8;
const AV_OPT_SEARCH_CHILDREN: c_int = 1;

/// Offsets into `AVFrame` (libavutil 57), `AVPacket` and `AVCodecParameters` (libavcodec 59).
mod layout {
    pub const FRAME_DATA: usize = 0;
    pub const FRAME_LINESIZE: usize = 64;
    pub const FRAME_WIDTH: usize = 104;
    pub const FRAME_HEIGHT: usize = 108;
    pub const FRAME_FORMAT: usize = 116;
    pub const FRAME_PTS: usize = 136;
    pub const FRAME_COLOR_RANGE: usize = 320;
    pub const FRAME_COLORSPACE: usize = 332;
    pub const PACKET_PTS: usize = 8;
    pub const PACKET_DTS: usize = 16;
    pub const PACKET_DATA: usize = 24;
    pub const PACKET_SIZE: usize = 32;
    pub const PACKET_FLAGS: usize = 40;
    pub const PAR_CODEC_TYPE: usize = 0;
    pub const PAR_EXTRADATA: usize = 16;
    pub const PAR_EXTRADATA_SIZE: usize = 24;
}

/// The codecs this decoder takes, by libavcodec's decoder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// HEVC / H.265.
    Hevc,
}

impl Codec {
    fn decoder_name(self) -> &'static CStr {
        match self {
            Codec::H264 => c"h264",
            Codec::Hevc => c"hevc",
        }
    }
}

type FindDecoderByName = unsafe extern "C" fn(*const c_char) -> *const c_void;
type AllocContext = unsafe extern "C" fn(*const c_void) -> *mut c_void;
type FreeContext = unsafe extern "C" fn(*mut *mut c_void);
type ParametersAlloc = unsafe extern "C" fn() -> *mut c_void;
type ParametersFree = unsafe extern "C" fn(*mut *mut c_void);
type ParametersToContext = unsafe extern "C" fn(*mut c_void, *const c_void) -> c_int;
type Open2 = unsafe extern "C" fn(*mut c_void, *const c_void, *mut *mut c_void) -> c_int;
type SendPacket = unsafe extern "C" fn(*mut c_void, *const c_void) -> c_int;
type ReceiveFrame = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type Alloc = unsafe extern "C" fn() -> *mut c_void;
type Free = unsafe extern "C" fn(*mut *mut c_void);
type Unref = unsafe extern "C" fn(*mut c_void);
type Malloc = unsafe extern "C" fn(usize) -> *mut c_void;
type Version = unsafe extern "C" fn() -> c_uint;
type OptSetInt = unsafe extern "C" fn(*mut c_void, *const c_char, i64, c_int) -> c_int;
type LogSetLevel = unsafe extern "C" fn(c_int);
type PixFmtName = unsafe extern "C" fn(c_int) -> *const c_char;
type StrError = unsafe extern "C" fn(c_int, *mut c_char, usize) -> c_int;

/// The functions used, resolved once; the libraries stay loaded for the life of the process.
struct Api {
    find_decoder_by_name: FindDecoderByName,
    alloc_context: AllocContext,
    free_context: FreeContext,
    parameters_alloc: ParametersAlloc,
    parameters_free: ParametersFree,
    parameters_to_context: ParametersToContext,
    open2: Open2,
    send_packet: SendPacket,
    receive_frame: ReceiveFrame,
    packet_alloc: Alloc,
    packet_free: Free,
    frame_alloc: Alloc,
    frame_free: Free,
    frame_unref: Unref,
    malloc: Malloc,
    opt_set_int: OptSetInt,
    pix_fmt_name: PixFmtName,
    strerror: StrError,
    _libs: (Library, Library),
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// The folder the libraries are loaded from; see the module docs for the order.
pub fn lib_dir() -> PathBuf {
    locate::installed("FFMPEG_LIB_DIR", ".ffmpeg/lib", &["/opt/lib", "/opt/ffmpeg/lib"], |dir| {
        dir.join(AVCODEC).is_file()
    })
}

fn api() -> Result<&'static Api, Error> {
    API.get_or_init(load).as_ref().map_err(|e| Error::Unavailable(e.clone()))
}

/// Whether the decoder libraries load (for readiness reports); the error says why not.
pub fn available() -> Result<(), Error> {
    api().map(|_| ())
}

fn load() -> Result<Api, String> {
    let dir = lib_dir();
    let open = |name: &str| {
        let path = dir.join(name);
        // SAFETY: loading FFmpeg runs its (trivial) library constructors; nothing else runs.
        unsafe { Library::new(&path) }.map_err(|e| format!("cannot load {}: {e}; {HINT}", path.display()))
    };
    let util = open(AVUTIL)?;
    let codec = open(AVCODEC)?;
    macro_rules! sym {
        ($lib:expr, $name:literal) => {
            // SAFETY: the symbol's type is its C prototype in FFmpeg 5.1 (checked by major version below).
            *unsafe { $lib.get(concat!($name, "\0").as_bytes()) }.map_err(|e| format!("{}: {e}; {HINT}", $name))?
        };
    }
    let util_version: Version = sym!(util, "avutil_version");
    let codec_version: Version = sym!(codec, "avcodec_version");
    // SAFETY: version queries take nothing and return a number.
    let (u, c) = unsafe { (util_version() >> 16, codec_version() >> 16) };
    if (u, c) != (57, 59) {
        return Err(format!("{} has libavutil {u} / libavcodec {c}, not 57 / 59 (FFmpeg 5.1); {HINT}", dir.display()));
    }
    let log_set_level: LogSetLevel = sym!(util, "av_log_set_level");
    // Corrupt uploads make the decoder log to stderr; the API reports them instead.
    // SAFETY: sets a global integer.
    unsafe { log_set_level(AV_LOG_QUIET) };
    Ok(Api {
        find_decoder_by_name: sym!(codec, "avcodec_find_decoder_by_name"),
        alloc_context: sym!(codec, "avcodec_alloc_context3"),
        free_context: sym!(codec, "avcodec_free_context"),
        parameters_alloc: sym!(codec, "avcodec_parameters_alloc"),
        parameters_free: sym!(codec, "avcodec_parameters_free"),
        parameters_to_context: sym!(codec, "avcodec_parameters_to_context"),
        open2: sym!(codec, "avcodec_open2"),
        send_packet: sym!(codec, "avcodec_send_packet"),
        receive_frame: sym!(codec, "avcodec_receive_frame"),
        packet_alloc: sym!(codec, "av_packet_alloc"),
        packet_free: sym!(codec, "av_packet_free"),
        frame_alloc: sym!(util, "av_frame_alloc"),
        frame_free: sym!(util, "av_frame_free"),
        frame_unref: sym!(util, "av_frame_unref"),
        malloc: sym!(util, "av_malloc"),
        opt_set_int: sym!(util, "av_opt_set_int"),
        pix_fmt_name: sym!(util, "av_get_pix_fmt_name"),
        strerror: sym!(util, "av_strerror"),
        _libs: (util, codec),
    })
}

impl Api {
    fn describe(&self, code: c_int) -> String {
        let mut buf = [0 as c_char; 128];
        // SAFETY: av_strerror writes at most `len` bytes, NUL-terminated.
        unsafe { (self.strerror)(code, buf.as_mut_ptr(), buf.len()) };
        // SAFETY: NUL-terminated above (av_strerror always terminates within the buffer).
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    }
}

/// Writes a plain value at a byte offset into an FFmpeg struct.
///
/// SAFETY: `base + offset` must be a field of type `T` (see [`layout`]).
unsafe fn put<T>(base: *mut c_void, offset: usize, value: T) {
    // SAFETY: the caller vouches for the field; unaligned writes need no alignment.
    unsafe { base.cast::<u8>().add(offset).cast::<T>().write_unaligned(value) }
}

/// Reads a plain value at a byte offset into an FFmpeg struct.
///
/// SAFETY: `base + offset` must be a field of type `T` (see [`layout`]).
unsafe fn get<T: Copy>(base: *const c_void, offset: usize) -> T {
    // SAFETY: the caller vouches for the field; unaligned reads need no alignment.
    unsafe { base.cast::<u8>().add(offset).cast::<T>().read_unaligned() }
}

/// One open decoder: length-prefixed samples in, with the sample entry's `avcC`/`hvcC` record as
/// extradata, pictures out in presentation order with the `pts` their sample went in with.
pub struct Decoder {
    api: &'static Api,
    ctx: *mut c_void,
    packet: *mut c_void,
    frame: *mut c_void,
    /// The sample being fed, copied with libavcodec's zero padding behind it.
    padded: Vec<u8>,
    /// Whether `frame` holds a picture handed out by the last `receive`.
    holding: bool,
}

// SAFETY: an AVCodecContext and its frames may move between threads as long as one thread at a
// time uses them; `Decoder` is not `Sync` and every call takes `&mut self`.
unsafe impl Send for Decoder {}

impl Decoder {
    /// Opens a decoder for `codec` configured by `config` (the `avcC`/`hvcC` box body), decoding
    /// on `threads` threads (FFmpeg's frame threading; 1 decodes on the caller's thread).
    pub fn open(codec: Codec, config: &[u8], threads: usize) -> Result<Decoder, Error> {
        let api = api()?;
        let fail = |what: &str, code: c_int| Error::Decode(format!("{what}: {}", api.describe(code)));
        // SAFETY: every pointer below comes from the matching FFmpeg allocator, is checked for
        // null, and is owned by the returned `Decoder` (freed in `Drop`) or freed here.
        unsafe {
            let found = (api.find_decoder_by_name)(codec.decoder_name().as_ptr());
            if found.is_null() {
                return Err(Error::Unavailable(format!(
                    "the FFmpeg libraries in {} have no {:?} decoder; {HINT}",
                    lib_dir().display(),
                    codec
                )));
            }
            let decoder = Decoder {
                api,
                ctx: (api.alloc_context)(found),
                packet: (api.packet_alloc)(),
                frame: (api.frame_alloc)(),
                padded: Vec::new(),
                holding: false,
            };
            if decoder.ctx.is_null() || decoder.packet.is_null() || decoder.frame.is_null() {
                return Err(Error::Decode("out of memory starting the decoder".into()));
            }
            let mut par = (api.parameters_alloc)();
            if par.is_null() {
                return Err(Error::Decode("out of memory starting the decoder".into()));
            }
            put::<c_int>(par, layout::PAR_CODEC_TYPE, 0); // AVMEDIA_TYPE_VIDEO
            let extradata = (api.malloc)(config.len() + INPUT_PADDING).cast::<u8>();
            if !extradata.is_null() {
                std::ptr::copy_nonoverlapping(config.as_ptr(), extradata, config.len());
                std::ptr::write_bytes(extradata.add(config.len()), 0, INPUT_PADDING);
                put(par, layout::PAR_EXTRADATA, extradata);
                put(par, layout::PAR_EXTRADATA_SIZE, c_int::try_from(config.len()).unwrap_or(0));
            }
            let copied = (api.parameters_to_context)(decoder.ctx, par);
            (api.parameters_free)(&mut par);
            if copied < 0 {
                return Err(fail("could not configure the decoder", copied));
            }
            let threads = i64::try_from(threads.max(1)).unwrap_or(1);
            (api.opt_set_int)(decoder.ctx, c"threads".as_ptr(), threads, AV_OPT_SEARCH_CHILDREN);
            let opened = (api.open2)(decoder.ctx, found, std::ptr::null_mut());
            if opened < 0 {
                return Err(fail("could not start the decoder (a broken avcC/hvcC?)", opened));
            }
            Ok(decoder)
        }
    }

    /// Feeds one sample (length-prefixed NAL units) shown at `pts`; `None` signals the end of the
    /// stream, after which [`Decoder::receive`] drains the pictures held for reordering. `Ok(false)`:
    /// the decoder is full, take pictures out first and feed the same sample again.
    pub fn send(&mut self, sample: Option<&[u8]>, pts: i64, key: bool) -> Result<bool, Error> {
        self.release();
        let code = match sample {
            Some(bytes) => {
                self.padded.clear();
                self.padded.extend_from_slice(bytes);
                self.padded.resize(bytes.len() + INPUT_PADDING, 0);
                let Ok(size) = c_int::try_from(bytes.len()) else {
                    return Err(Error::Decode(format!("a {}-byte frame is too large", bytes.len())));
                };
                // SAFETY: the packet is ours; `data` points at `padded`, which outlives the call
                // (libavcodec copies a packet without a buffer reference before keeping it).
                unsafe {
                    put(self.packet, layout::PACKET_DATA, self.padded.as_mut_ptr());
                    put(self.packet, layout::PACKET_SIZE, size);
                    put(self.packet, layout::PACKET_PTS, pts);
                    put(self.packet, layout::PACKET_DTS, i64::MIN); // AV_NOPTS_VALUE
                    put::<c_int>(self.packet, layout::PACKET_FLAGS, c_int::from(key));
                    (self.api.send_packet)(self.ctx, self.packet)
                }
            }
            // SAFETY: a null packet starts draining.
            None => unsafe { (self.api.send_packet)(self.ctx, std::ptr::null()) },
        };
        match code {
            0 | AVERROR_EOF => Ok(true),
            AVERROR_EAGAIN => Ok(false),
            e => Err(Error::Decode(self.api.describe(e))),
        }
    }

    /// The next picture, or `None` when the decoder needs more input (or, after the end was sent,
    /// has nothing left). The picture borrows the decoder until the next call.
    pub fn receive(&mut self) -> Result<Option<Picture<'_>>, Error> {
        self.release();
        // SAFETY: context and frame are ours; on success the frame holds a picture until unref.
        let code = unsafe { (self.api.receive_frame)(self.ctx, self.frame) };
        match code {
            0 => {
                self.holding = true;
                self.picture().map(Some)
            }
            AVERROR_EAGAIN | AVERROR_EOF => Ok(None),
            e => Err(Error::Decode(self.api.describe(e))),
        }
    }

    fn picture(&self) -> Result<Picture<'_>, Error> {
        let f = self.frame;
        // SAFETY: `f` holds a decoded video frame; the fields read are those of [`layout`].
        let (width, height, format, pts, range, colorspace, data, linesize) = unsafe {
            (
                get::<c_int>(f, layout::FRAME_WIDTH),
                get::<c_int>(f, layout::FRAME_HEIGHT),
                get::<c_int>(f, layout::FRAME_FORMAT),
                get::<i64>(f, layout::FRAME_PTS),
                get::<c_int>(f, layout::FRAME_COLOR_RANGE),
                get::<c_int>(f, layout::FRAME_COLORSPACE),
                get::<[*const u8; 3]>(f, layout::FRAME_DATA),
                get::<[c_int; 3]>(f, layout::FRAME_LINESIZE),
            )
        };
        // SAFETY: returns a static string or null.
        let name = unsafe { (self.api.pix_fmt_name)(format) };
        let name = if name.is_null() {
            String::from("unknown")
        } else {
            // SAFETY: non-null: a static NUL-terminated name.
            unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
        };
        let layout = PixelLayout::from_name(&name).ok_or(Error::PixelFormat(name))?;
        let (Ok(w), Ok(h)) = (usize::try_from(width), usize::try_from(height)) else {
            return Err(Error::Decode("the decoder returned a picture without a size".into()));
        };
        if w == 0 || h == 0 {
            return Err(Error::Decode("the decoder returned an empty picture".into()));
        }
        let bytes_per_sample = if layout.ten_bit { 2 } else { 1 };
        let mut planes: [&[u8]; 3] = [&[]; 3];
        let mut strides = [0usize; 3];
        for p in 0..if layout.gray { 1 } else { 3 } {
            let (pw, ph) = if p == 0 { (w, h) } else { (w.div_ceil(layout.sub_x), h.div_ceil(layout.sub_y)) };
            let stride =
                usize::try_from(linesize[p]).ok().filter(|&s| s >= pw * bytes_per_sample && !data[p].is_null());
            let Some(stride) = stride else {
                return Err(Error::Decode(format!("the decoder returned plane {p} in an unexpected layout")));
            };
            // SAFETY: libavcodec gives each plane `linesize` bytes per row for its rows; the last
            // row is read only up to its width.
            planes[p] = unsafe { std::slice::from_raw_parts(data[p], stride * (ph - 1) + pw * bytes_per_sample) };
            strides[p] = stride;
        }
        Ok(Picture {
            width: w,
            height: h,
            layout,
            planes,
            strides,
            pts,
            full_range: range == 2, // AVCOL_RANGE_JPEG
            matrix: Matrix::from_colorspace(colorspace),
        })
    }

    fn release(&mut self) {
        if self.holding {
            // SAFETY: drops the frame's references; the frame itself stays allocated for reuse.
            unsafe { (self.api.frame_unref)(self.frame) };
            self.holding = false;
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: each pointer came from its allocator in `open` and is freed once (the free
        // functions take null too).
        unsafe {
            (self.api.frame_free)(&mut self.frame);
            (self.api.packet_free)(&mut self.packet);
            (self.api.free_context)(&mut self.ctx);
        }
    }
}

/// How a picture's samples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    /// Chroma subsampling: 2 and 2 for 4:2:0, 2 and 1 for 4:2:2, 1 and 1 for 4:4:4.
    pub sub_x: usize,
    /// See `sub_x`.
    pub sub_y: usize,
    /// 10-bit samples in 16-bit little-endian words (Main 10, HDR).
    pub ten_bit: bool,
    /// Luma only.
    pub gray: bool,
    /// A `yuvj` format: full range whatever the frame's range field says.
    pub full_range: bool,
}

impl PixelLayout {
    fn from_name(name: &str) -> Option<PixelLayout> {
        let (base, ten_bit) = match name.strip_suffix("10le") {
            Some(b) => (b, true),
            None => (name, false),
        };
        let (base, full_range) = match base.strip_prefix("yuvj") {
            Some(rest) => (rest, true),
            None => (base.strip_prefix("yuv").unwrap_or(base), false),
        };
        let (sub_x, sub_y, gray) = match base {
            "420p" => (2, 2, false),
            "422p" => (2, 1, false),
            "444p" if !ten_bit => (1, 1, false),
            "gray" if !ten_bit => (1, 1, true),
            _ => return None,
        };
        Some(PixelLayout { sub_x, sub_y, ten_bit, gray, full_range })
    }
}

/// The YUV to RGB matrix of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// SD, and streams that do not say.
    Bt601,
    /// HD.
    Bt709,
    /// UHD and HDR (non-constant luminance).
    Bt2020,
}

impl Matrix {
    /// From `AVColorSpace`; an unspecified one is BT.601, as FFmpeg's scaler takes it (so frames
    /// match `ffmpeg -pix_fmt rgb24`; phones always tag theirs).
    fn from_colorspace(colorspace: c_int) -> Matrix {
        match colorspace {
            1 => Matrix::Bt709,
            9 | 10 => Matrix::Bt2020,
            _ => Matrix::Bt601,
        }
    }
}

/// One decoded picture, borrowed from the decoder.
pub struct Picture<'d> {
    /// Pixels a row (after the stream's cropping).
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// How the samples are laid out.
    pub layout: PixelLayout,
    planes: [&'d [u8]; 3],
    strides: [usize; 3],
    /// The `pts` its sample was sent with.
    pub pts: i64,
    full_range: bool,
    matrix: Matrix,
}

impl Picture<'_> {
    /// Writes the picture as RGB8 (`width * height * 3` bytes) into `out`, with the stream's
    /// matrix and range: 10-bit samples become 8-bit, chroma is taken from the sample covering
    /// each pixel. The conversion is the `yuv` crate's (SIMD on x86_64 and aarch64).
    pub fn write_rgb(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        use yuv::{YuvGrayImage, YuvPlanarImage, YuvRange, YuvStandardMatrix};
        let (w, h) = (self.width, self.height);
        out.resize(w * h * 3, 0);
        let range = if self.full_range || self.layout.full_range { YuvRange::Full } else { YuvRange::Limited };
        let matrix = match self.matrix {
            Matrix::Bt601 => YuvStandardMatrix::Bt601,
            Matrix::Bt709 => YuvStandardMatrix::Bt709,
            Matrix::Bt2020 => YuvStandardMatrix::Bt2020,
        };
        let too_large = || Error::Decode(format!("a {w}x{h} picture is too large"));
        let (width, height) = (u32::try_from(w).map_err(|_| too_large())?, u32::try_from(h).map_err(|_| too_large())?);
        let rgb_stride = width.checked_mul(3).ok_or_else(too_large)?;
        let stride = |p: usize, bytes_per_sample: usize| {
            u32::try_from(self.strides[p] / bytes_per_sample).map_err(|_| too_large())
        };
        let done = if self.layout.gray {
            let gray = YuvGrayImage { y_plane: self.planes[0], y_stride: stride(0, 1)?, width, height };
            yuv::yuv400_to_rgb(&gray, out, rgb_stride, range, matrix)
        } else if self.layout.ten_bit {
            let (y, u, v) = (self.words(0)?, self.words(1)?, self.words(2)?);
            let image = YuvPlanarImage {
                y_plane: y,
                y_stride: stride(0, 2)?,
                u_plane: u,
                u_stride: stride(1, 2)?,
                v_plane: v,
                v_stride: stride(2, 2)?,
                width,
                height,
            };
            match self.layout.sub_y {
                2 => yuv::i010_to_rgb(&image, out, rgb_stride, range, matrix),
                _ => yuv::i210_to_rgb(&image, out, rgb_stride, range, matrix),
            }
        } else {
            let image = YuvPlanarImage {
                y_plane: self.planes[0],
                y_stride: stride(0, 1)?,
                u_plane: self.planes[1],
                u_stride: stride(1, 1)?,
                v_plane: self.planes[2],
                v_stride: stride(2, 1)?,
                width,
                height,
            };
            match (self.layout.sub_x, self.layout.sub_y) {
                (2, 2) => yuv::yuv420_to_rgb(&image, out, rgb_stride, range, matrix),
                (2, 1) => yuv::yuv422_to_rgb(&image, out, rgb_stride, range, matrix),
                _ => yuv::yuv444_to_rgb(&image, out, rgb_stride, range, matrix),
            }
        };
        done.map_err(|e| Error::Decode(format!("converting a {w}x{h} picture to RGB: {e}")))
    }

    /// Plane `p` of a 10-bit picture as 16-bit words (libavcodec's planes are 64-byte aligned
    /// and their line sizes even; anything else is refused rather than read misaligned).
    fn words(&self, p: usize) -> Result<&[u16], Error> {
        let bytes = self.planes[p];
        if bytes.as_ptr().align_offset(2) != 0 || !bytes.len().is_multiple_of(2) || !self.strides[p].is_multiple_of(2) {
            return Err(Error::Decode(format!("plane {p} of a 10-bit picture is not 16-bit aligned")));
        }
        // SAFETY: aligned for u16 and an even length (checked above), borrowed for as long as the
        // bytes are; every bit pattern is a valid u16.
        Ok(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u16>(), bytes.len() / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_formats_by_name() {
        let l = PixelLayout::from_name("yuv420p10le").expect("Main 10");
        assert_eq!((l.sub_x, l.sub_y, l.ten_bit, l.full_range, l.gray), (2, 2, true, false, false));
        assert!(PixelLayout::from_name("yuvj420p").expect("jpeg range").full_range);
        assert_eq!(PixelLayout::from_name("yuv422p").map(|l| l.sub_y), Some(1));
        assert!(PixelLayout::from_name("gray").expect("gray").gray);
        assert_eq!(PixelLayout::from_name("gray10le"), None);
        assert_eq!(PixelLayout::from_name("yuv444p10le"), None, "no 10-bit 4:4:4 conversion");
        assert_eq!(PixelLayout::from_name("nv12"), None);
        assert_eq!(PixelLayout::from_name("yuv420p12le"), None);
    }
}

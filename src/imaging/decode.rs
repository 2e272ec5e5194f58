//! Turning untrusted bytes into pixels.
//!
//! Every photo, from the database or from an officer's phone, enters here.
//! The decoder is the part most exposed to hostile input, so it checks the
//! declared size before allocating, caps memory, applies EXIF orientation
//! (phones store rotated pixels plus a tag) and reports each failure with
//! the file's name and who is at fault.

use crate::imaging::limits::{DecodeError, DecodeLimits, check_declared_size};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use std::io::{BufRead, Cursor, Seek};
use std::path::Path;

/// Reads and decodes an image file. `name` in errors is the path as given.
pub fn decode_path(path: &Path, limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    let bytes = read_limited(path, limits)?;
    decode_bytes(&bytes, &path.display().to_string(), limits)
}

/// A file's bytes, if it is a regular file within `max_file_bytes`: a
/// FIFO or a link to a device in a seized folder would block or never end,
/// and a file growing while read stops at the limit.
pub fn read_limited(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |source| DecodeError::Io {
        name: name.clone(),
        source,
    };
    let regular = |meta: &std::fs::Metadata| match meta.is_file() {
        true => Ok(()),
        false => Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a folder, a device, a pipe or a socket)",
        ))),
    };
    // Looked at before opening: opening a pipe waits for a writer.
    regular(&std::fs::metadata(path).map_err(io)?)?;
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    regular(&meta)?;
    let too_large = |bytes| DecodeError::FileTooLarge {
        name: name.clone(),
        bytes,
        limit: limits.max_file_bytes,
    };
    if meta.len() > limits.max_file_bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file)
        .take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Decodes an in-memory image (an upload). `name` is used in errors only.
pub fn decode_bytes(
    bytes: &[u8],
    name: &str,
    limits: &DecodeLimits,
) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty { name: name.into() });
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::FileTooLarge {
            name: name.into(),
            bytes: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    if crate::imaging::heic::is_heif(bytes) {
        return crate::imaging::heic::decode(bytes, name, limits);
    }
    let format =
        image::guess_format(bytes).map_err(|_| DecodeError::Unsupported { name: name.into() })?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills a missing tail with grey: a half-received
        // photo would be searched as if it were whole.
        return Err(DecodeError::Corrupt {
            name: name.into(),
            message: "file ends early (no end-of-image marker)".into(),
        });
    }
    decode_reader(Cursor::new(bytes), format, name, limits)
}

fn decode_reader<R: BufRead + Seek>(
    reader: R,
    format: ImageFormat,
    name: &str,
    limits: &DecodeLimits,
) -> Result<RgbImage, DecodeError> {
    let corrupt = |e: image::ImageError| classify(e, name);
    let mut reader = ImageReader::with_format(reader, format);
    let mut lim = image::Limits::default();
    // Width and height are checked below, against the declared size, so
    // that the error can say what the file claims.
    lim.max_alloc = Some(limits.max_alloc);
    reader.limits(lim);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    check_declared_size(name, width, height, limits)?;
    // `from_decoder` does not hold the pixel buffer itself to `max_alloc`
    // (image 0.25: only `ImageReader::decode` does); 16-bit RGBA would take
    // 8 bytes a pixel.
    let bytes = decoder.total_bytes();
    if bytes > limits.max_alloc {
        return Err(DecodeError::TooManyPixels {
            name: name.into(),
            width,
            height,
            limit: format!(
                "{} MiB to decode at {:?}, over {} MiB",
                bytes >> 20,
                decoder.color_type(),
                limits.max_alloc >> 20
            ),
        });
    }
    // A missing or unreadable EXIF block is not an error: the pixels are still good.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// True when the JPEG's last scan is followed by an end-of-image marker.
/// Entropy-coded data never contains `FF D9` (0xFF is stuffed as `FF 00`),
/// so after the last start-of-scan it can only be the real end; data a
/// camera appends after the end (maker trailers) is allowed.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan {
        None => false,
        Some(p) => bytes[p..].windows(2).any(|w| w == [0xFF, 0xD9]),
    }
}

fn classify(e: image::ImageError, name: &str) -> DecodeError {
    use image::ImageError as E;
    match e {
        E::Unsupported(_) => DecodeError::Unsupported { name: name.into() },
        E::Limits(l) => DecodeError::TooManyPixels {
            name: name.into(),
            width: 0,
            height: 0,
            limit: l.to_string(),
        },
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => DecodeError::Corrupt {
            name: name.into(),
            message: "file ends early".into(),
        },
        other => DecodeError::Corrupt {
            name: name.into(),
            message: other.to_string(),
        },
    }
}

/// Shrinks an image so that its longer side is at most `max_side`, keeping
/// the aspect ratio. Descriptors never need more than this, and working on
/// a small copy keeps every later stage's cost independent of the camera.
pub fn fit_within(img: RgbImage, max_side: u32) -> RgbImage {
    shrunk(&img, max_side).unwrap_or(img)
}

/// A copy of `img` shrunk to fit `max_side`, or None when it already fits:
/// for making several working copies of one image without cloning it.
pub fn shrunk(img: &RgbImage, max_side: u32) -> Option<RgbImage> {
    let (w, h) = img.dimensions();
    if w.max(h) <= max_side {
        return None;
    }
    let scale = max_side as f64 / w.max(h) as f64;
    let nw = ((w as f64 * scale).round() as u32).max(1);
    let nh = ((h as f64 * scale).round() as u32).max(1);
    Some(super::resample::thumbnail(img, nw, nh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_unsupported_not_a_panic() {
        let err = decode_bytes(
            b"definitely not an image",
            "x.jpg",
            &DecodeLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::Unsupported { .. }), "{err}");
        assert!(err.to_string().starts_with("x.jpg"));
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png)
            .unwrap();
        buf.truncate(buf.len() / 2);
        let err = decode_bytes(&buf, "t.png", &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let img = RgbImage::new(300, 200);
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png)
            .unwrap();
        let limits = DecodeLimits {
            max_pixels: 10_000,
            ..DecodeLimits::default()
        };
        let err = decode_bytes(&buf, "big.png", &limits).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooManyPixels { width: 300, .. }),
            "{err}"
        );
    }

    #[test]
    fn the_decoded_buffer_is_held_to_the_allocation_limit() {
        // 16-bit RGBA: 8 bytes a pixel, within the pixel limit.
        let img = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::new(1000, 1000);
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png)
            .unwrap();
        let limits = DecodeLimits {
            max_alloc: 4 << 20,
            ..DecodeLimits::default()
        };
        let err = decode_bytes(&buf, "deep.png", &limits).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooManyPixels { width: 1000, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("7 MiB to decode"), "{err}");
        decode_bytes(&buf, "deep.png", &DecodeLimits::default()).unwrap();
    }

    #[test]
    fn truncated_jpeg_is_corrupt() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 3, y as u8 * 2, 7]));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Jpeg)
            .unwrap();
        decode_bytes(&buf, "whole.jpg", &DecodeLimits::default()).unwrap();
        buf.truncate(buf.len() * 2 / 3);
        let err = decode_bytes(&buf, "cut.jpg", &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn fit_within_keeps_aspect() {
        let img = RgbImage::new(2000, 1000);
        let small = fit_within(img, 500);
        assert_eq!(small.dimensions(), (500, 250));
    }
}

//! HEIC/HEIF photos, what iPhones send by default.
//!
//! The `image` crate has no HEIF decoder; libheif (the system library,
//! through libheif-rs) does it. Detection is always compiled, so a build
//! without the `heic` feature can say exactly why it refuses the file
//! instead of calling it garbage.

use crate::imaging::limits::{DecodeError, DecodeLimits};
use image::RgbImage;

/// True when the bytes start with an ISO-BMFF `ftyp` box of a HEIF brand.
pub fn is_heif(bytes: &[u8]) -> bool {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    const BRANDS: [&[u8; 4]; 8] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ];
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(12, bytes.len());
    // The major brand, then the compatible brands after the minor version.
    std::iter::once(&bytes[8..12])
        .chain(bytes.get(16..end).unwrap_or(&[]).chunks_exact(4))
        .any(|b| BRANDS.iter().any(|x| x.as_slice() == b))
}

/// Decodes the primary image, with the rotation and mirroring the file
/// declares applied (libheif does it by default), after checking its
/// declared size against the limits.
#[cfg(feature = "heic")]
pub fn decode(bytes: &[u8], name: &str, limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};
    let corrupt = |e: libheif_rs::HeifError| DecodeError::Corrupt {
        name: name.into(),
        message: format!("HEIF: {e}"),
    };
    let ctx = HeifContext::read_from_bytes(bytes).map_err(corrupt)?;
    let handle = ctx.primary_image_handle().map_err(corrupt)?;
    crate::imaging::limits::check_declared_size(name, handle.width(), handle.height(), limits)?;
    let decoded = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(corrupt)?;
    let planes = decoded.planes();
    let plane = planes.interleaved.ok_or_else(|| DecodeError::Corrupt {
        name: name.into(),
        message: "HEIF: no interleaved RGB plane".into(),
    })?;
    let (w, h, stride) = (plane.width, plane.height, plane.stride);
    let row = w as usize * 3;
    if plane.data.len() < stride * (h as usize).saturating_sub(1) + row {
        return Err(DecodeError::Corrupt {
            name: name.into(),
            message: "HEIF: decoded plane is shorter than its size".into(),
        });
    }
    let mut out = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        out.extend_from_slice(&plane.data[y * stride..y * stride + row]);
    }
    RgbImage::from_raw(w, h, out).ok_or_else(|| DecodeError::Corrupt {
        name: name.into(),
        message: "HEIF: bad plane size".into(),
    })
}

/// Without the feature: a clear refusal naming the fix.
#[cfg(not(feature = "heic"))]
pub fn decode(bytes: &[u8], name: &str, limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    let _ = (bytes, limits);
    Err(DecodeError::NotBuiltIn {
        name: name.into(),
        format: "HEIC/HEIF",
        feature: "heic",
    })
}

#[cfg(test)]
mod tests {
    use super::is_heif;

    #[test]
    fn brands() {
        let mut b = vec![0, 0, 0, 24];
        b.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert!(is_heif(&b));
        let mut avif = vec![0, 0, 0, 20];
        avif.extend_from_slice(b"ftypavif\0\0\0\0avif");
        assert!(!is_heif(&avif));
        assert!(!is_heif(b"\xFF\xD8\xFF\xE0 jpeg"));
    }
}

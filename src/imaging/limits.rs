//! What a photo may cost before it is decoded, and why it was refused.
//!
//! Shared by every decoder ([`super::decode`], [`super::heic`]): the
//! limits are checked on the size a file *declares*, before any pixel is
//! allocated, and the error says whose fault it is.

/// Bounds that keep a hostile file from exhausting the machine.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Largest declared width or height.
    pub max_side: u32,
    /// Largest declared width × height.
    pub max_pixels: u64,
    /// Cap on any single allocation the decoder makes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_file_bytes: 64 << 20,
            max_side: 20_000,
            max_pixels: 100_000_000,
            max_alloc: 512 << 20,
        }
    }
}

/// Why a photo could not be turned into pixels.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{name}: cannot read file: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: empty file")]
    Empty { name: String },
    #[error("{name}: not an image in a supported format (JPEG, PNG, WebP, TIFF, GIF, BMP, HEIC)")]
    Unsupported { name: String },
    #[error("{name}: {format} images need a build with the `{feature}` feature")]
    NotBuiltIn {
        name: String,
        format: &'static str,
        feature: &'static str,
    },
    #[error("{name}: file is {bytes} bytes, larger than the limit of {limit}")]
    FileTooLarge {
        name: String,
        bytes: u64,
        limit: u64,
    },
    #[error("{name}: image is {width}x{height} pixels, over the limit ({limit})")]
    TooManyPixels {
        name: String,
        width: u32,
        height: u32,
        limit: String,
    },
    #[error("{name}: corrupt or truncated image: {message}")]
    Corrupt { name: String, message: String },
}

impl DecodeError {
    /// True when the input, not the system, is at fault (HTTP 4xx rather than 5xx).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, DecodeError::Io { .. })
    }
}

/// Checks the size a file declares before a single pixel is decoded (a
/// decompression bomb declares a huge picture in a few bytes).
pub fn check_declared_size(
    name: &str,
    width: u32,
    height: u32,
    limits: &DecodeLimits,
) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt {
            name: name.into(),
            message: "zero width or height".into(),
        });
    }
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(DecodeError::TooManyPixels {
            name: name.into(),
            width,
            height,
            limit: format!("{} pixels, {} per side", limits.max_pixels, limits.max_side),
        });
    }
    Ok(())
}

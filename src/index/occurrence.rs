//! What a posting of the inverted index holds about one feature: its
//! visual word, and the geometry the Hough vote needs (orientation,
//! pyramid level, offset from the image's centre).

/// One feature as the inverted index sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occurrence {
    pub word: u32,
    /// Orientation in 256 steps per turn.
    pub angle: u8,
    pub level: u8,
    /// Position relative to the image's centre, in [`OFFSET_UNIT`] pixels.
    pub dx: i8,
    pub dy: i8,
}

/// Pixels per step of an [`Occurrence`]'s offset: features come from
/// copies at most 720 pixels long, whose half fits in an i8 of 4-pixel
/// steps.
pub const OFFSET_UNIT: f32 = 4.0;

/// The offset step of a coordinate in an image `size` pixels long.
pub fn offset_step(coord: f32, size: u32) -> i8 {
    ((coord - size as f32 / 2.0) / OFFSET_UNIT)
        .round()
        .clamp(-127.0, 127.0) as i8
}

//! Media the desktop app makes without a network: QR codes, invitation
//! posters and share posters. Pure functions, bytes in and PNG bytes out, except [`kit`], which
//! finds the font and caches the company's artwork on disk.

use std::io::Cursor;

pub mod fonts;
pub mod kit;
mod poster;
mod raster;
mod share_poster;
mod text;

pub use poster::{
    render_poster, render_poster_on, Artwork, PosterSpec, POSTER_HEIGHT, POSTER_WIDTH,
};
pub use share_poster::{render_share_poster, SharePosterSpec, SHARE_QR_SIDE};

use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};
use warmlead_core::ErrorCode;

/// Largest module size we render; keeps a hostile caller from asking for a
/// gigapixel image.
pub const MAX_MODULE_PX: u32 = 64;

/// Everything that can go wrong making media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("text is too long for a QR code")]
    TooLong,
    #[error("module size must be 1..={MAX_MODULE_PX} pixels, got {0}")]
    BadModuleSize(u32),
    #[error(
        "no Chinese font found for the poster (install fonts-noto-cjk or set WARMLEAD_POSTER_FONT)"
    )]
    NoFont,
    #[error("the font could not be read (index {0} of the file)")]
    BadFont(u32),
    #[error("the {0} is not a PNG or JPEG image we can read")]
    BadImage(&'static str),
    #[error("could not encode PNG: {0}")]
    Png(#[from] image::ImageError),
}

impl MediaError {
    pub fn code(&self) -> ErrorCode {
        match self {
            MediaError::TooLong
            | MediaError::BadModuleSize(_)
            | MediaError::BadFont(_)
            | MediaError::BadImage(_) => ErrorCode::InvalidInput,
            MediaError::Png(_) | MediaError::NoFont => ErrorCode::Internal,
        }
    }
}

/// A QR code of `text` as PNG, `module_px` pixels per module, with the
/// standard 4-module quiet zone. Medium error correction (~15%): enough to
/// survive a chat app's recompression while keeping short URLs low-density.
pub fn qr_png(text: &str, module_px: u32) -> Result<Vec<u8>, MediaError> {
    if module_px == 0 || module_px > MAX_MODULE_PX {
        return Err(MediaError::BadModuleSize(module_px));
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| MediaError::TooLong)?;
    let img = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .build();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
    Ok(png)
}

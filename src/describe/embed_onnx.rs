//! A learned global embedding through an ONNX model, run by tract (pure
//! Rust: no runtime library to install, nothing downloaded). Behind the
//! `onnx` cargo feature, because tract adds minutes to every build and the
//! default engine needs no model.
//!
//! The model takes one picture, `[1, 3, S, S]` float32 in RGB order,
//! normalised with the ImageNet mean and deviation (what torchvision-style
//! backbones expect), and returns one vector; the engine L2-normalises it.
//! A site plugs in its own model with `--onnx-model FILE --onnx-input-size S`.

use crate::describe::embed::Embedder;
use image::RgbImage;
use image::imageops::{FilterType, resize};
use std::path::Path;
use tract_onnx::prelude::*;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

type Plan = std::sync::Arc<TypedRunnableModel>;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a usable image-embedding model: {message}")]
    Model { path: String, message: String },
}

pub struct OnnxEmbedder {
    plan: Plan,
    side: u32,
    dim: usize,
    id: String,
}

impl OnnxEmbedder {
    /// Loads and optimises the model for `side`×`side` inputs, and runs it
    /// once to learn its output size (and to fail now, not mid-import).
    pub fn load(path: &Path, side: u32) -> Result<OnnxEmbedder, OnnxError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
            path: name.clone(),
            source,
        })?;
        let model_err = |e: TractError| OnnxError::Model {
            path: name.clone(),
            message: format!("{e:#}"),
        };
        let s = side as usize;
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, s, s]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_err)?;
        let mut embedder = OnnxEmbedder {
            plan,
            side,
            dim: 0,
            id: String::new(),
        };
        let probe = embedder
            .run(&RgbImage::new(side, side))
            .map_err(model_err)?;
        if probe.is_empty() {
            return Err(OnnxError::Model {
                path: name,
                message: "the model returns an empty vector".into(),
            });
        }
        let file = path
            .file_name()
            .map_or(name.clone(), |f| f.to_string_lossy().into_owned());
        embedder.dim = probe.len();
        // The id changes whenever the model's bytes or the input size do:
        // vectors of two models are never compared.
        embedder.id = format!("onnx:{file}:{:08x}:{side}", crc32fast::hash(&bytes));
        Ok(embedder)
    }

    fn run(&self, img: &RgbImage) -> TractResult<Vec<f32>> {
        let s = self.side;
        let img = if img.dimensions() == (s, s) {
            img.clone()
        } else {
            resize(img, s, s, FilterType::Triangle)
        };
        let input: Tensor =
            tract_ndarray::Array4::from_shape_fn((1, 3, s as usize, s as usize), |(_, c, y, x)| {
                (img.get_pixel(x as u32, y as u32)[c] as f32 / 255.0 - MEAN[c]) / STD[c]
            })
            .into();
        let out = self.plan.run(tvec!(input.into()))?;
        let view = out[0].to_plain_array_view::<f32>()?;
        Ok(view.iter().copied().collect())
    }
}

impl Embedder for OnnxEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn input_side(&self) -> u32 {
        self.side
    }

    fn embed(&self, img: &RgbImage) -> Vec<f32> {
        let mut v = self.run(img).unwrap_or_else(|_| vec![0.0; self.dim]);
        v.resize(self.dim, 0.0);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            v.iter_mut().for_each(|x| *x /= norm);
        } else {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> OnnxEmbedder {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/onnx/tiny.onnx");
        OnnxEmbedder::load(&path, 64).expect("the tiny test model loads")
    }

    #[test]
    fn tiny_model_embeds_unit_vectors_that_tell_pictures_apart() {
        let e = tiny();
        assert_eq!(e.dim(), 32);
        assert!(e.id().starts_with("onnx:tiny.onnx:"), "{}", e.id());
        let red = RgbImage::from_fn(100, 80, |x, _| image::Rgb([200, (x % 50) as u8, 30]));
        let blue = RgbImage::from_fn(100, 80, |_, y| image::Rgb([20, 60, 150 + (y % 90) as u8]));
        let (a, b) = (e.embed(&red), e.embed(&blue));
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm(&a) - 1.0).abs() < 1e-4);
        assert_eq!(a, e.embed(&red), "deterministic");
        let dist = crate::describe::embed::l2_squared(&a, &b).sqrt();
        assert!(dist > 0.05, "different pictures, distance {dist}");
    }

    #[test]
    fn a_file_that_is_not_a_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.onnx");
        std::fs::write(&bad, b"not a model").unwrap();
        let err = OnnxEmbedder::load(&bad, 64).err().expect("an error");
        assert!(err.to_string().contains("bad.onnx"), "{err}");
    }
}

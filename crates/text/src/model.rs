//! The classifier model: labels, feature settings, quantised weights, and its versioned file format.
//!
//! File format (all integers and floats little-endian):
//!
//! ```text
//! magic   8 bytes  "OGTXTCLS"
//! version u32      FORMAT_VERSION
//! payload          zlib stream (its Adler-32 catches a damaged file):
//!   hash_bits u8, char_ngram_max u8, flags u8 (1 words, 2 word bigrams, 4 hmm, 8 fold digits,
//!                                            16 sublinear tf, 32 idf present)
//!   label count u32, then each label: byte length u32 + UTF-8
//!   temperature f32
//!   bias  f32 × labels
//!   scale f32 × labels          (weight = i8 × scale of its label)
//!   if idf: idf_max f32, u8 × 2^hash_bits  (idf = u8 / 255 × idf_max)
//!   weights i8 × 2^hash_bits × labels, bucket-major (the labels' weights of one bucket are adjacent)
//! ```
//!
//! A hand-written format rather than serde + bincode: the file is almost entirely one dense i8 array, the
//! layout above is all there is to it, and its stability is ours to keep (bincode's encoding is an
//! implementation detail of a crate version).

use std::io::{Read, Write};

use crate::error::TextError;
use crate::features::FeatureConfig;

pub const MAGIC: &[u8; 8] = b"OGTXTCLS";
pub const FORMAT_VERSION: u32 = 1;

/// Guards against absurd allocations from a damaged or hostile file.
pub(crate) const MAX_HASH_BITS: u8 = 24;
pub(crate) const MIN_HASH_BITS: u8 = 8;
const MAX_LABELS: usize = 4_096;
const MAX_LABEL_BYTES: usize = 1_024;

/// A trained linear model over hashed features.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub(crate) config: FeatureConfig,
    pub(crate) labels: Vec<String>,
    /// Softmax temperature turning scores into probabilities, fitted on held-out folds at training.
    pub(crate) temperature: f32,
    pub(crate) bias: Vec<f32>,
    pub(crate) scale: Vec<f32>,
    /// Per-bucket inverse document frequency, when the model weighs features by it.
    pub(crate) idf: Option<Vec<f32>>,
    /// `dims × labels` quantised weights, bucket-major.
    pub(crate) weights: Vec<i8>,
}

impl Model {
    /// Builds a model from full-precision weights (`weights[label][bucket]`), quantising them to i8.
    pub(crate) fn quantise(
        config: FeatureConfig,
        labels: Vec<String>,
        temperature: f32,
        bias: Vec<f32>,
        weights: &[Vec<f32>],
        idf: Option<Vec<f32>>,
    ) -> Model {
        let dims = config.dims();
        let n_labels = labels.len();
        let scale: Vec<f32> = weights
            .iter()
            .map(|w| {
                let max = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                if max > 0.0 {
                    max / 127.0
                } else {
                    1.0
                }
            })
            .collect();
        let mut quantised = vec![0i8; dims * n_labels];
        for (label, w) in weights.iter().enumerate() {
            for (bucket, &x) in w.iter().enumerate().take(dims) {
                let q = (x / scale[label]).round().clamp(-127.0, 127.0);
                quantised[bucket * n_labels + label] = q as i8;
            }
        }
        // The idf is stored as u8; round-trip it now so a fresh model and its loaded file agree exactly.
        let idf = idf.map(|idf| {
            let max = idf.iter().fold(0.0f32, |m, &x| m.max(x));
            idf.iter()
                .map(|&x| dequantise_idf(quantise_idf(x, max), max))
                .collect()
        });
        Model {
            config,
            labels,
            temperature,
            bias,
            scale,
            idf,
            weights: quantised,
        }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// The raw score of every label for a feature vector (sorted distinct buckets).
    pub(crate) fn scores(&self, indices: &[u32], values: &[f32], out: &mut Vec<f32>) {
        let n = self.labels.len();
        out.clear();
        out.resize(n, 0.0);
        for (&bucket, &value) in indices.iter().zip(values) {
            let start = bucket as usize * n;
            if let Some(row) = self.weights.get(start..start + n) {
                for (acc, &w) in out.iter_mut().zip(row) {
                    *acc += value * f32::from(w);
                }
            }
        }
        self.finish_scores(out);
    }

    fn finish_scores(&self, out: &mut [f32]) {
        for ((acc, &scale), &bias) in out.iter_mut().zip(&self.scale).zip(&self.bias) {
            *acc = *acc * scale + bias;
        }
    }

    /// The weights and idf rearranged for classifying one message at a time, or `None` when the idf cannot
    /// be stored as one byte per bucket without changing a value (then [`Model::scores`]' layout is used).
    pub(crate) fn packed(&self) -> Option<PackedWeights> {
        let n = self.labels.len();
        let dims = self.config.dims();
        if self.weights.len() != dims * n {
            return None;
        }
        let mut table = [1.0f32; 256];
        let mut codes = vec![0u8; dims];
        if let Some(idf) = &self.idf {
            if idf.len() != dims {
                return None;
            }
            // The loaded idf came from bytes `q / 255 × max`, and the largest was stored as 255, so the
            // bytes can be recovered; refuse (fall back) unless every value round-trips bit for bit.
            let max = idf.iter().fold(0.0f32, |m, &x| m.max(x));
            for (q, slot) in table.iter_mut().enumerate() {
                *slot = dequantise_idf(q as u8, max);
            }
            for (code, &x) in codes.iter_mut().zip(idf) {
                let q = quantise_idf(x, max);
                if table[usize::from(q)].to_bits() != x.to_bits() {
                    return None;
                }
                *code = q;
            }
        }
        let stride = n + 1;
        let mut rows = Vec::with_capacity(dims * stride);
        for (row, &code) in self.weights.chunks_exact(n).zip(&codes) {
            rows.extend(row.iter().map(|&w| w as u8));
            rows.push(code);
        }
        Some(PackedWeights {
            stride,
            rows,
            idf: table,
        })
    }

    /// The raw score of every label from the buckets of a message's feature occurrences (`buckets`, with
    /// repeats; sorted here). Computes exactly what [`crate::features::vectorize`] followed by the
    /// per-bucket dot product computes, in the same order, but reads each bucket's idf and weights from one
    /// place in memory.
    pub(crate) fn scores_packed(
        &self,
        packed: &PackedWeights,
        buckets: &mut [u32],
        work: &mut PackedWork,
        out: &mut Vec<f32>,
    ) {
        let n = self.labels.len();
        let stride = packed.stride;
        out.clear();
        out.resize(n, 0.0);
        work.rows.clear();
        work.values.clear();
        buckets.sort_unstable();
        let mut i = 0;
        while i < buckets.len() {
            let bucket = buckets[i];
            let mut j = i + 1;
            while j < buckets.len() && buckets[j] == bucket {
                j += 1;
            }
            let count = j - i;
            i = j;
            let start = bucket as usize * stride;
            if start + stride > packed.rows.len() {
                continue;
            }
            let tf = if count == 1 {
                // 1 + ln 1 and the count alike.
                1.0
            } else if self.config.sublinear_tf {
                1.0 + (count as f32).ln()
            } else {
                count as f32
            };
            work.rows.push(start);
            work.values.push(tf);
        }
        // The rows are scattered over megabytes; reading their idf bytes in a loop of their own lets the
        // processor fetch many of them at once.
        for (value, &start) in work.values.iter_mut().zip(&work.rows) {
            let code = packed.rows.get(start + n).copied().unwrap_or(0);
            *value *= packed.idf[usize::from(code)];
        }
        let norm = work.values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            work.values.iter_mut().for_each(|v| *v /= norm);
        }
        for (&start, &value) in work.rows.iter().zip(&work.values) {
            if let Some(row) = packed.rows.get(start..start + n) {
                for (acc, &w) in out.iter_mut().zip(row) {
                    *acc += value * f32::from(w as i8);
                }
            }
        }
        self.finish_scores(out);
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(self.weights.len() + 1024);
        payload.push(self.config.hash_bits);
        payload.push(self.config.char_ngram_max);
        let flags = u8::from(self.config.words)
            | u8::from(self.config.word_bigrams) << 1
            | u8::from(self.config.hmm) << 2
            | u8::from(self.config.fold_digits) << 3
            | u8::from(self.config.sublinear_tf) << 4
            | u8::from(self.idf.is_some()) << 5;
        payload.push(flags);
        payload.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        for label in &self.labels {
            payload.extend_from_slice(&(label.len() as u32).to_le_bytes());
            payload.extend_from_slice(label.as_bytes());
        }
        payload.extend_from_slice(&self.temperature.to_le_bytes());
        for x in self.bias.iter().chain(&self.scale) {
            payload.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(idf) = &self.idf {
            let max = idf.iter().fold(0.0f32, |m, &x| m.max(x));
            payload.extend_from_slice(&max.to_le_bytes());
            payload.extend(idf.iter().map(|&x| quantise_idf(x, max)));
        }
        payload.extend(self.weights.iter().map(|&w| w as u8));

        let mut out = Vec::with_capacity(payload.len() / 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let mut encoder = flate2::write::ZlibEncoder::new(out, flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(&payload);
        encoder.finish().unwrap_or_default()
    }

    /// Reads a model file's bytes, checking every length and value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, TextError> {
        let bad = |m: &str| TextError::BadModel(m.to_string());
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad(
                "it does not start with the onegrid classifier signature",
            ));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[8..12]);
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(TextError::UnsupportedModelVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let mut payload = Vec::new();
        // Bounded read: 2^24 buckets × 4,096 labels would be absurd; refuse more than 512 MiB.
        flate2::read::ZlibDecoder::new(&bytes[12..])
            .take(512 << 20)
            .read_to_end(&mut payload)
            .map_err(|e| TextError::BadModel(format!("its compressed body is damaged ({e})")))?;
        let mut r = Reader {
            bytes: &payload,
            at: 0,
        };
        let hash_bits = r.u8()?;
        if !(MIN_HASH_BITS..=MAX_HASH_BITS).contains(&hash_bits) {
            return Err(bad("its hash size is out of range"));
        }
        let char_ngram_max = r.u8()?;
        if char_ngram_max > 8 {
            return Err(bad("its character n-gram length is out of range"));
        }
        let flags = r.u8()?;
        if flags >= 64 {
            return Err(bad("it sets unknown feature flags"));
        }
        let config = FeatureConfig {
            hash_bits,
            char_ngram_max,
            words: flags & 1 != 0,
            word_bigrams: flags & 2 != 0,
            hmm: flags & 4 != 0,
            fold_digits: flags & 8 != 0,
            sublinear_tf: flags & 16 != 0,
        };
        let n_labels = r.u32()? as usize;
        if !(2..=MAX_LABELS).contains(&n_labels) {
            return Err(bad("its number of labels is out of range"));
        }
        let mut labels = Vec::with_capacity(n_labels);
        for _ in 0..n_labels {
            let len = r.u32()? as usize;
            if len == 0 || len > MAX_LABEL_BYTES {
                return Err(bad("a label is empty or too long"));
            }
            let label = std::str::from_utf8(r.take(len)?)
                .map_err(|_| bad("a label is not UTF-8"))?
                .to_string();
            if labels.contains(&label) {
                return Err(bad("a label occurs twice"));
            }
            labels.push(label);
        }
        let temperature = r.f32()?;
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(bad("its temperature is not a positive number"));
        }
        let bias = r.f32s(n_labels)?;
        let scale = r.f32s(n_labels)?;
        if bias.iter().chain(&scale).any(|x| !x.is_finite()) {
            return Err(bad("a bias or scale is not a finite number"));
        }
        let dims = config.dims();
        let idf = if flags & 32 != 0 {
            let max = r.f32()?;
            if !(max.is_finite() && max >= 0.0) {
                return Err(bad("its idf range is not a finite number"));
            }
            Some(
                r.take(dims)?
                    .iter()
                    .map(|&q| dequantise_idf(q, max))
                    .collect(),
            )
        } else {
            None
        };
        let weights = r.take(dims * n_labels)?.iter().map(|&b| b as i8).collect();
        if r.at != payload.len() {
            return Err(bad("it has bytes after the weights"));
        }
        Ok(Model {
            config,
            labels,
            temperature,
            bias,
            scale,
            idf,
            weights,
        })
    }
}

/// Per bucket, its labels' weights followed by its idf byte (`stride` bytes), so scoring a bucket touches
/// one cache line instead of two tables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PackedWeights {
    stride: usize,
    rows: Vec<u8>,
    idf: [f32; 256],
}

/// Reusable buffers of [`Model::scores_packed`].
#[derive(Debug, Default)]
pub(crate) struct PackedWork {
    rows: Vec<usize>,
    values: Vec<f32>,
}

fn quantise_idf(x: f32, max: f32) -> u8 {
    if max > 0.0 {
        (x / max * 255.0).round().clamp(0.0, 255.0) as u8
    } else {
        0
    }
}

fn dequantise_idf(q: u8, max: f32) -> f32 {
    f32::from(q) / 255.0 * max
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TextError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| TextError::BadModel("it ends too early (truncated)".to_string()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, TextError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, TextError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn f32(&mut self) -> Result<f32, TextError> {
        Ok(f32::from_bits(self.u32()?))
    }

    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, TextError> {
        (0..n).map(|_| self.f32()).collect()
    }
}

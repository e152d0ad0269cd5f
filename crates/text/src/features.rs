//! Hashed features: character n-grams and jieba words of a normalised message, as an L2-normalised sparse
//! vector.

use std::sync::OnceLock;

use jieba_rs::Jieba;

use crate::normalize::is_content_char;

/// Which features a model uses. Stored in the model file, so a model always featurises as it was trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureConfig {
    /// The feature space has `2^hash_bits` buckets.
    pub hash_bits: u8,
    /// Character n-grams of length 1..=`char_ngram_max` (0 disables them).
    pub char_ngram_max: u8,
    /// Words from jieba's segmentation.
    pub words: bool,
    /// Pairs of consecutive words.
    pub word_bigrams: bool,
    /// Let jieba guess words missing from its dictionary with its HMM (slower).
    pub hmm: bool,
    /// Treat every ASCII digit as `0` (house numbers, dates and masked place codes like `A3区` generalise).
    pub fold_digits: bool,
    /// Weigh a repeated feature by `1 + ln(count)` instead of its count.
    pub sublinear_tf: bool,
}

impl Default for FeatureConfig {
    fn default() -> FeatureConfig {
        FeatureConfig {
            hash_bits: 18,
            char_ngram_max: 2,
            words: true,
            word_bigrams: false,
            hmm: false,
            fold_digits: false,
            sublinear_tf: true,
        }
    }
}

impl FeatureConfig {
    pub fn dims(&self) -> usize {
        1usize << self.hash_bits
    }
}

/// jieba with its default dictionary, loaded once per process (it takes a moment and ~20 MB).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED_CHARS: u64 = 0x51_7CC1_B727_220A;
const SEED_WORD: u64 = 0x2545_F491_4F6C_DD1D;
const SEED_BIGRAM: u64 = 0x6A09_E667_F3BC_C908;

#[inline]
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(GOLDEN).rotate_left(29)
}

#[inline]
fn finish(h: u64, bits: u8) -> u32 {
    let h = (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let h = h ^ (h >> 27);
    (h >> (64 - u32::from(bits))) as u32
}

fn hash_str(seed: u64, s: &str) -> u64 {
    // FNV-1a over the bytes, then mixed with the feature kind's seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(seed, h)
}

/// A sparse feature vector: sorted distinct bucket indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// Reusable buffers so featurising many messages does not allocate for each.
#[derive(Debug, Default)]
pub struct Scratch {
    chars: Vec<char>,
    buckets: Vec<u32>,
}

impl Scratch {
    /// The buckets found by the last [`buckets`] call.
    pub fn buckets_slice(&self) -> &[u32] {
        &self.buckets
    }

    /// The buckets found by the last [`buckets`] call, to sort in place.
    pub(crate) fn buckets_mut(&mut self) -> &mut [u32] {
        &mut self.buckets
    }
}

/// The bucket of every feature occurrence of `normalised` (with repeats), appended to `out`.
pub fn buckets(config: &FeatureConfig, normalised: &str, scratch: &mut Scratch) {
    scratch.buckets.clear();
    scratch.chars.clear();
    let bits = config.hash_bits;
    scratch.chars.extend(normalised.chars().map(|c| {
        if config.fold_digits && c.is_ascii_digit() {
            '0'
        } else {
            c
        }
    }));
    let chars = &scratch.chars;
    let max_n = usize::from(config.char_ngram_max);
    for start in 0..chars.len() {
        let mut h = SEED_CHARS;
        for (n, &c) in chars[start..].iter().take(max_n).enumerate() {
            // An n-gram never spans a space: the space separates unrelated runs.
            if c == ' ' {
                break;
            }
            h = mix(h, u64::from(c as u32) | ((n as u64 + 1) << 32));
            scratch.buckets.push(finish(h, bits));
        }
    }
    if config.words || config.word_bigrams {
        let mut previous: Option<u64> = None;
        for token in jieba().cut(normalised, config.hmm) {
            let word = token.word;
            if !word.chars().any(is_content_char) {
                previous = None;
                continue;
            }
            let h = if config.fold_digits && word.bytes().any(|b| b.is_ascii_digit()) {
                let folded: String = word
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '0' } else { c })
                    .collect();
                hash_str(SEED_WORD, &folded)
            } else {
                hash_str(SEED_WORD, word)
            };
            if config.words {
                scratch.buckets.push(finish(h, bits));
            }
            if config.word_bigrams {
                if let Some(p) = previous {
                    scratch
                        .buckets
                        .push(finish(mix(mix(SEED_BIGRAM, p), h), bits));
                }
            }
            previous = Some(h);
        }
    }
}

/// The L2-normalised feature vector of `normalised`, weighting each bucket by `idf` when given.
pub fn vectorize(
    config: &FeatureConfig,
    normalised: &str,
    idf: Option<&[f32]>,
    scratch: &mut Scratch,
    out: &mut SparseVector,
) {
    buckets(config, normalised, scratch);
    out.indices.clear();
    out.values.clear();
    let list = &mut scratch.buckets;
    list.sort_unstable();
    let mut i = 0;
    while i < list.len() {
        let bucket = list[i];
        let mut j = i + 1;
        while j < list.len() && list[j] == bucket {
            j += 1;
        }
        let count = (j - i) as f32;
        let tf = if config.sublinear_tf {
            1.0 + count.ln()
        } else {
            count
        };
        let weight = idf
            .and_then(|idf| idf.get(bucket as usize))
            .copied()
            .unwrap_or(1.0);
        out.indices.push(bucket);
        out.values.push(tf * weight);
        i = j;
    }
    let norm = out.values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.values.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_char_ngrams_without_crossing_spaces() {
        let config = FeatureConfig {
            words: false,
            char_ngram_max: 3,
            ..FeatureConfig::default()
        };
        let mut scratch = Scratch::default();
        buckets(&config, "噪音扰民", &mut scratch);
        // 4 unigrams + 3 bigrams + 2 trigrams.
        assert_eq!(scratch.buckets.len(), 9);
        buckets(&config, "噪音 扰民", &mut scratch);
        // 4 unigrams + 2 bigrams, no trigram spans the space.
        assert_eq!(scratch.buckets.len(), 6);
    }

    #[test]
    fn adds_jieba_words() {
        let chars_only = FeatureConfig {
            words: false,
            ..FeatureConfig::default()
        };
        let with_words = FeatureConfig::default();
        let mut scratch = Scratch::default();
        buckets(&chars_only, "小区噪音扰民", &mut scratch);
        let n_chars = scratch.buckets.len();
        buckets(&with_words, "小区噪音扰民", &mut scratch);
        assert!(scratch.buckets.len() > n_chars);
    }

    #[test]
    fn vector_is_sorted_distinct_and_unit_length() {
        let config = FeatureConfig::default();
        let mut scratch = Scratch::default();
        let mut v = SparseVector::default();
        vectorize(&config, "噪音噪音噪音 小区", None, &mut scratch, &mut v);
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(v.indices.iter().all(|&i| (i as usize) < config.dims()));
        let norm: f32 = v.values.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn folding_digits_merges_numbers() {
        let config = FeatureConfig {
            fold_digits: true,
            ..FeatureConfig::default()
        };
        let mut scratch = Scratch::default();
        let (mut a, mut b) = (SparseVector::default(), SparseVector::default());
        vectorize(&config, "a3区", None, &mut scratch, &mut a);
        vectorize(&config, "a7区", None, &mut scratch, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_text_has_no_features() {
        let mut scratch = Scratch::default();
        let mut v = SparseVector::default();
        vectorize(&FeatureConfig::default(), "", None, &mut scratch, &mut v);
        assert!(v.indices.is_empty());
    }
}

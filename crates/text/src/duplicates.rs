//! Duplicate detection at intake: an in-memory index of open cases, searched by place, time and text.
//!
//! When a report comes in, [`DuplicateIndex::candidates`] lists the open cases that are near it in space
//! (within [`DuplicateConfig::radius_m`]), in time (within [`DuplicateConfig::window_hours`]) and in text
//! ([`similarity`] at least [`DuplicateConfig::propose_at`]), best first. The dispatcher is shown those; a
//! candidate at or above [`DuplicateConfig::merge_at`] may be merged automatically. The index holds only
//! open cases: the caller [`DuplicateIndex::remove`]s a case when it closes or is merged, and
//! [`DuplicateIndex::prune_before`] drops those older than the window.
//!
//! # Text
//!
//! A [`Signature`] is the report's tf-idf vector over the character 1–2-grams of its normalised text
//! (punctuation and symbols dropped), hashed as the classifier hashes them and weighed by the shipped
//! model's idf (learnt from the Teddy Cup training rows), cut to its 48 heaviest features and
//! L2-normalised; [`similarity`] is the cosine of two signatures. Chosen by measurement on 530 labelled real
//! message pairs (`crates/text/data/duplicate-pairs`, `docs/text.md` § Duplicates): it beats MinHash and
//! exact Jaccard of character 3-grams, tf-idf over all features, and the classifier's jieba words, which
//! add nothing measurable and triple the cost. Cutting to the heaviest features helps: the common
//! characters that make two unrelated complaints alike weigh little and are dropped.
//!
//! # Place
//!
//! Each entry and each query has an optional point (WGS84 longitude, latitude) and an optional *area* key,
//! an opaque string the caller chooses (intake passes the report's grid cell code, or its community code
//! to compare more widely). Which entries a query is compared with:
//!
//! | query has | compared with |
//! | --- | --- |
//! | a point | entries with a point within `radius_m`; entries **without** a point in the same area; entries with neither point nor area |
//! | an area, no point | entries in the same area (with or without a point); entries with neither |
//! | neither | every entry (found through the text index) |
//!
//! Two points decide by distance even when the areas agree. An entry or query with neither point nor area
//! (e.g. a public-opinion post with no place) is compared by text and time alone; its text usually names the
//! place. Points outside WGS84 (or not finite) count as no point. Distances are great-circle distances on a
//! sphere of the Earth's mean radius (within 0.5 % of the ellipsoid).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};

use crate::classifier::Classifier;
use crate::error::TextError;
use crate::features::{buckets, FeatureConfig, Scratch};
use crate::normalize::{is_content_char, normalize};

/// Settings of the index: how near in space and time, and how similar in text, a duplicate must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateConfig {
    /// Two reports with points farther apart than this (metres) are not duplicates.
    pub radius_m: f64,
    /// Two reports further apart in time than this (hours) are not duplicates.
    pub window_hours: f64,
    /// Candidates at or above this similarity are proposed to the dispatcher.
    pub propose_at: f32,
    /// Candidates at or above this similarity may be merged without asking.
    pub merge_at: f32,
}

impl Default for DuplicateConfig {
    /// 300 m, 72 h, and the thresholds measured on the labelled pairs (`docs/text.md` § Duplicates):
    /// [`PROPOSE_AT`] keeps recall ≥ 0.95, [`MERGE_AT`] keeps precision ≥ 0.97 with 95 % confidence.
    fn default() -> DuplicateConfig {
        DuplicateConfig {
            radius_m: 300.0,
            window_hours: 72.0,
            propose_at: PROPOSE_AT,
            merge_at: MERGE_AT,
        }
    }
}

/// Chosen on the labelled pairs: the highest threshold (0.01 grid) whose recall is still ≥ 0.95.
pub const PROPOSE_AT: f32 = 0.28;
/// Chosen on the labelled pairs: the lowest threshold (0.01 grid) at which the one-sided 95 % lower
/// confidence bound of precision is ≥ 0.97 (observed: no false merge among 128; the highest-scoring
/// non-duplicate, a complaint text copied for another county, scores 0.555).
pub const MERGE_AT: f32 = 0.56;

/// How a [`Signature`] is computed. [`signature`] uses the default; the others exist for measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureSettings {
    /// Keep only this many of the heaviest features (0 keeps all). Bounds the memory of an entry and the
    /// cost of a comparison whatever the length of the report.
    pub max_features: usize,
    /// Read only Chinese characters, letters and digits: punctuation and symbols become spaces.
    pub content_only: bool,
    /// Add jieba words to the character n-grams (as the classifier does). Costs most of the time.
    pub words: bool,
}

impl Default for SignatureSettings {
    /// The shipped settings: 48 features, content only, no words (see the module documentation).
    fn default() -> SignatureSettings {
        SignatureSettings {
            max_features: 48,
            content_only: true,
            words: false,
        }
    }
}

/// The text of a report reduced for comparison: a sparse unit vector (sorted feature ids, weights).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signature {
    /// (feature id, weight), sorted by id; one allocation, so comparing reads one contiguous run.
    features: Box<[(u32, f32)]>,
}

impl Signature {
    /// The number of features kept.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// No feature: the text was empty or had no character to read. Similar to nothing.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Bytes held by the signature's features.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.features)
    }

    /// The `n` heaviest feature ids (the text index's keys), heaviest first.
    fn heaviest(&self, n: usize) -> Vec<u32> {
        let heavier = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let mut order: Vec<(u32, f32)> = self.features.to_vec();
        // The order is total (ties broken by id), so selecting the first `n` and sorting only them
        // gives the same ids in the same order as sorting everything.
        if n < order.len() {
            order.select_nth_unstable_by(n, heavier);
            order.truncate(n);
        }
        order.sort_unstable_by(heavier);
        order.into_iter().map(|(id, _)| id).collect()
    }
}

/// The features and idf of the shipped classifier, so that duplicates and categories read a report alike.
struct Vocabulary {
    config: FeatureConfig,
    /// The idf of each bucket as the model stores it, a byte proportional to the idf (`idf = code / 255 ×
    /// max`): the common factor cancels when the signature is normalised, and 256 KB stay in cache where
    /// the 1 MB of floats would not.
    idf_codes: Option<Vec<u8>>,
}

fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    VOCABULARY.get_or_init(|| match Classifier::default_model() {
        Ok(classifier) => {
            let model = classifier.model();
            let idf_codes = model.idf.as_ref().map(|idf| {
                let max = idf.iter().fold(0.0f32, |m, &x| m.max(x));
                idf.iter()
                    .map(|&x| {
                        if max > 0.0 {
                            (x / max * 255.0).round() as u8
                        } else {
                            1
                        }
                    })
                    .collect()
            });
            Vocabulary {
                config: *model.config(),
                idf_codes,
            }
        }
        // The embedded model is checked by the classifier's tests; were it unreadable, plain tf cosine
        // over the same features still works, only less well.
        Err(_) => Vocabulary {
            config: FeatureConfig::default(),
            idf_codes: None,
        },
    })
}

#[derive(Default)]
struct Buffers {
    text: String,
    scratch: Scratch,
    weighted: Vec<(u32, f32)>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::default();
}

/// The signature of a report's text, `title + "。" + description`, with the default settings. Never fails:
/// an empty or unreadable text (only emoji or punctuation) gives an empty signature. Reads only the first
/// [`crate::normalize::MAX_INPUT_CHARS`] characters.
pub fn signature(text: &str) -> Signature {
    signature_with(text, &SignatureSettings::default())
}

/// [`signature`] with other settings (for measuring; signatures made with different settings do not compare).
///
/// The features are the classifier's (`features::buckets`), weighed as `features::vectorize` weighs them
/// (sublinear tf × idf); the weighing is done here so that only the kept features are normalised and the
/// idf is read from its byte table.
pub fn signature_with(text: &str, settings: &SignatureSettings) -> Signature {
    signature_of_normalised(&normalize(text), settings)
}

/// [`signature`] of text already passed through [`normalize`] (intake normalises a report once for
/// the classifier and the signature): equal to `signature(text)` when `normalised == normalize(text)`.
pub fn signature_normalised(normalised: &str) -> Signature {
    signature_of_normalised(normalised, &SignatureSettings::default())
}

fn signature_of_normalised(normalised: &str, settings: &SignatureSettings) -> Signature {
    let vocabulary = vocabulary();
    BUFFERS.with(|buffers| {
        let mut buffers = buffers.borrow_mut();
        let Buffers {
            text: readable,
            scratch,
            weighted,
        } = &mut *buffers;
        readable.clear();
        if settings.content_only {
            readable.extend(
                normalised
                    .chars()
                    .map(|c| if is_content_char(c) { c } else { ' ' }),
            );
        } else {
            readable.push_str(normalised);
        }
        let config = FeatureConfig {
            words: settings.words,
            ..vocabulary.config
        };
        buckets(&config, readable, scratch);
        let list = scratch.buckets_mut();
        list.sort_unstable();
        weighted.clear();
        let mut i = 0;
        while i < list.len() {
            let bucket = list[i];
            let mut j = i + 1;
            while j < list.len() && list[j] == bucket {
                j += 1;
            }
            let count = (j - i) as f32;
            let tf = if !config.sublinear_tf {
                count
            } else if j - i == 1 {
                1.0
            } else {
                1.0 + count.ln()
            };
            let idf = match &vocabulary.idf_codes {
                Some(codes) => codes.get(bucket as usize).copied().map_or(1.0, f32::from),
                None => 1.0,
            };
            if idf > 0.0 {
                weighted.push((bucket, tf * idf));
            }
            i = j;
        }
        let keep = match settings.max_features {
            0 => weighted.len(),
            n => n.min(weighted.len()),
        };
        if keep < weighted.len() {
            // Heaviest first; equal weights by feature id, so the cut does not depend on the sort.
            weighted.select_nth_unstable_by(keep, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            weighted.truncate(keep);
            weighted.sort_unstable_by_key(|&(id, _)| id);
        }
        let norm = weighted.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
        if norm <= 0.0 || !norm.is_finite() {
            return Signature::default();
        }
        Signature {
            features: weighted.iter().map(|&(id, w)| (id, w / norm)).collect(),
        }
    })
}

/// The cosine of two signatures, in `0..=1`: 1 for the same text, near 0 for unrelated ones, 0 when either
/// is empty.
pub fn similarity(a: &Signature, b: &Signature) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
    let (a_features, b_features) = (&a.features, &b.features);
    // A merge without data-dependent branches: the order of ids is unpredictable, and mispredicted branches
    // cost more than the arithmetic.
    while i < a_features.len() && j < b_features.len() {
        let ((ia, va), (ib, vb)) = (a_features[i], b_features[j]);
        dot += if ia == ib { va * vb } else { 0.0 };
        i += usize::from(ia <= ib);
        j += usize::from(ib <= ia);
    }
    // The same text gives 1 up to rounding; say exactly 1 then (comparing first would cost every pair).
    if dot > 0.9999 && a == b {
        return 1.0;
    }
    dot.clamp(0.0, 1.0)
}

/// An open case that may be a duplicate of the report being checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: u64,
    pub similarity: f32,
    /// Metres between the two points; `None` when either has no point.
    pub distance_m: Option<f64>,
    pub hours_apart: f64,
}

/// How many of its heaviest features put an entry in the text index (a query looks up all of its own).
const TEXT_KEYS: usize = 12;

/// Mean radius of the Earth (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: u64,
    point: Option<(f64, f64)>,
    area: Option<Box<str>>,
    at_unix_s: i64,
    signature: Signature,
    text_keys: Vec<u32>,
}

impl Entry {
    fn placeless(&self) -> bool {
        self.point.is_none() && self.area.is_none()
    }
}

/// The entries of one area: all of them, and those without a point (what a located query compares).
#[derive(Debug, Default, Clone)]
struct AreaEntries {
    all: Vec<u32>,
    unlocated: Vec<u32>,
}

/// Hashes the index's integer keys (feature ids, themselves hash buckets, and case ids) with a
/// multiply and a fold instead of SipHash, which cost more than the rest of an insert's map work.
/// Neither key is chosen freely by a client: feature ids lie in the model's bucket range and case
/// ids are assigned by the store.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Entry slots by text feature.
#[derive(Debug, Default, Clone)]
struct TextIndex {
    postings: IdMap<u32, Vec<u32>>,
}

impl TextIndex {
    fn insert(&mut self, keys: &[u32], slot: u32) {
        for &key in keys {
            self.postings.entry(key).or_default().push(slot);
        }
    }

    fn remove(&mut self, keys: &[u32], slot: u32) {
        for key in keys {
            if let Some(slots) = self.postings.get_mut(key) {
                remove_slot(slots, slot);
                if slots.is_empty() {
                    self.postings.remove(key);
                }
            }
        }
    }

    fn collect(&self, keys: &[u32], out: &mut Vec<u32>) {
        if self.postings.is_empty() {
            return;
        }
        for key in keys {
            if let Some(slots) = self.postings.get(key) {
                out.extend_from_slice(slots);
            }
        }
    }
}

fn remove_slot(slots: &mut Vec<u32>, slot: u32) {
    if let Some(position) = slots.iter().position(|&s| s == slot) {
        slots.swap_remove(position);
    }
}

type PointTree = RTree<GeomWithData<[f64; 2], u32>>;

/// The open cases, indexed by place, time and text. `Send + Sync`; `candidates` takes `&self`, so readers
/// can share it behind a read lock.
#[derive(Debug, Clone)]
pub struct DuplicateIndex {
    config: DuplicateConfig,
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    slot_of: IdMap<u64, u32>,
    by_time: BTreeSet<(i64, u64)>,
    points: PointTree,
    areas: HashMap<Box<str>, AreaEntries>,
    text_all: TextIndex,
    text_placeless: TextIndex,
}

impl DuplicateIndex {
    pub fn new(config: DuplicateConfig) -> DuplicateIndex {
        DuplicateIndex {
            config,
            entries: Vec::new(),
            free: Vec::new(),
            slot_of: IdMap::default(),
            by_time: BTreeSet::new(),
            points: RTree::new(),
            areas: HashMap::new(),
            text_all: TextIndex::default(),
            text_placeless: TextIndex::default(),
        }
    }

    pub fn config(&self) -> &DuplicateConfig {
        &self.config
    }

    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Adds an open case (or replaces the one with this id). `point` is (longitude, latitude) in WGS84;
    /// `area` is the caller's area key (see the module documentation).
    pub fn insert(
        &mut self,
        id: u64,
        point: Option<(f64, f64)>,
        area: Option<&str>,
        at_unix_s: i64,
        signature: Signature,
    ) {
        self.remove(id);
        let entry = Entry {
            id,
            point: point.filter(|&p| valid_point(p)),
            area: area.map(Box::from),
            at_unix_s,
            text_keys: signature.heaviest(TEXT_KEYS),
            signature,
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                // More than 4 billion open cases would not fit in memory long before this.
                let slot = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
                self.entries.push(None);
                slot
            }
        };
        if let Some((lon, lat)) = entry.point {
            self.points.insert(GeomWithData::new([lon, lat], slot));
        }
        if let Some(area) = &entry.area {
            let lists = self.areas.entry(area.clone()).or_default();
            lists.all.push(slot);
            if entry.point.is_none() {
                lists.unlocated.push(slot);
            }
        }
        self.text_all.insert(&entry.text_keys, slot);
        if entry.placeless() {
            self.text_placeless.insert(&entry.text_keys, slot);
        }
        self.by_time.insert((at_unix_s, id));
        self.slot_of.insert(id, slot);
        if let Some(place) = self.entries.get_mut(slot as usize) {
            *place = Some(entry);
        }
    }

    /// Removes a case (closed, merged, withdrawn). Unknown ids are ignored.
    pub fn remove(&mut self, id: u64) {
        let Some(slot) = self.slot_of.remove(&id) else {
            return;
        };
        let Some(entry) = self.entries.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        if let Some((lon, lat)) = entry.point {
            self.points.remove(&GeomWithData::new([lon, lat], slot));
        }
        if let Some(area) = &entry.area {
            if let Some(lists) = self.areas.get_mut(area) {
                remove_slot(&mut lists.all, slot);
                remove_slot(&mut lists.unlocated, slot);
                if lists.all.is_empty() {
                    self.areas.remove(area);
                }
            }
        }
        self.text_all.remove(&entry.text_keys, slot);
        if entry.placeless() {
            self.text_placeless.remove(&entry.text_keys, slot);
        }
        self.by_time.remove(&(entry.at_unix_s, id));
        self.free.push(slot);
    }

    /// Drops every entry reported before `at_unix_s` (call it with `now − window`).
    pub fn prune_before(&mut self, at_unix_s: i64) {
        while let Some(&(at, id)) = self.by_time.first() {
            if at >= at_unix_s {
                break;
            }
            self.remove(id);
        }
    }

    /// The open cases that may be duplicates of a report at `point`/`area` and `at_unix_s` with this
    /// `signature`: within the radius and the window, with similarity at least `propose_at`, best first
    /// (similarity, then distance, then time apart, then id), at most `limit`.
    pub fn candidates(
        &self,
        point: Option<(f64, f64)>,
        area: Option<&str>,
        at_unix_s: i64,
        signature: &Signature,
        limit: usize,
    ) -> Vec<Candidate> {
        if limit == 0 || signature.is_empty() || self.is_empty() {
            return Vec::new();
        }
        let point = point.filter(|&p| valid_point(p));
        let mut slots = Vec::new();
        // A query looks up every feature it has among the entries' heaviest: two texts similar enough
        // share one of those (measured: every labelled pair at or above `propose_at`).
        let keys: Vec<u32> = signature.features.iter().map(|&(id, _)| id).collect();
        let keys = &keys;
        match (point, area) {
            (Some(point), area) => {
                self.near(point, &mut slots);
                if let Some(lists) = area.and_then(|a| self.areas.get(a)) {
                    slots.extend_from_slice(&lists.unlocated);
                }
                self.text_placeless.collect(keys, &mut slots);
            }
            (None, Some(area)) => {
                if let Some(lists) = self.areas.get(area) {
                    slots.extend_from_slice(&lists.all);
                }
                self.text_placeless.collect(keys, &mut slots);
            }
            (None, None) => self.text_all.collect(keys, &mut slots),
        }
        slots.sort_unstable();
        slots.dedup();
        let mut found: Vec<Candidate> = slots
            .into_iter()
            .filter_map(|slot| self.entries.get(slot as usize)?.as_ref())
            .filter_map(|entry| self.judge(entry, point, at_unix_s, signature))
            .collect();
        found.sort_unstable_by(best_first);
        found.truncate(limit);
        found
    }

    /// The same answer as [`DuplicateIndex::candidates`], by comparing with every entry: the reference the
    /// index is tested and benchmarked against.
    pub fn candidates_by_scan(
        &self,
        point: Option<(f64, f64)>,
        area: Option<&str>,
        at_unix_s: i64,
        signature: &Signature,
        limit: usize,
    ) -> Vec<Candidate> {
        let point = point.filter(|&p| valid_point(p));
        let mut found: Vec<Candidate> = self
            .entries
            .iter()
            .flatten()
            .filter(|entry| comparable(entry, point, area))
            .filter_map(|entry| self.judge(entry, point, at_unix_s, signature))
            .collect();
        found.sort_unstable_by(best_first);
        found.truncate(limit);
        found
    }

    /// Slots of the entries whose point may be within the radius of `point` (a bounding box; `judge` checks
    /// the distance).
    fn near(&self, (lon, lat): (f64, f64), out: &mut Vec<u32>) {
        let radius = self.config.radius_m;
        if !(radius >= 0.0 && radius.is_finite()) {
            return;
        }
        // The radius as an angle, with a margin for rounding. The box spans it in latitude and, in
        // longitude, the widest a circle of that radius gets at this latitude, asin(sin r / cos φ); every
        // longitude when the circle reaches a pole.
        let angle = radius / EARTH_RADIUS_M * 1.01;
        let dlat = angle.to_degrees();
        let (sin_angle, cos_lat) = (angle.sin(), lat.to_radians().cos());
        let dlon = if angle < std::f64::consts::FRAC_PI_2 && sin_angle < cos_lat {
            (sin_angle / cos_lat).asin().to_degrees()
        } else {
            180.0
        };
        let south = (lat - dlat).max(-90.0);
        let north = (lat + dlat).min(90.0);
        let mut query = |west: f64, east: f64| {
            let envelope = AABB::from_corners([west, south], [east, north]);
            out.extend(self.points.locate_in_envelope(envelope).map(|p| p.data));
        };
        let (west, east) = (lon - dlon, lon + dlon);
        if dlon >= 180.0 {
            query(-180.0, 180.0);
            return;
        }
        // A box that crosses the antimeridian is queried as two boxes.
        query(west.max(-180.0), east.min(180.0));
        if west < -180.0 {
            query(west + 360.0, 180.0);
        }
        if east > 180.0 {
            query(-180.0, east - 360.0);
        }
    }

    /// The candidate an entry makes for this query, if it is within the window, the radius and the
    /// similarity threshold. The place rules of the module documentation are enforced by the callers.
    fn judge(
        &self,
        entry: &Entry,
        point: Option<(f64, f64)>,
        at_unix_s: i64,
        signature: &Signature,
    ) -> Option<Candidate> {
        // Written as "keep when within" so that a NaN setting keeps nothing.
        let hours_apart = (at_unix_s as f64 - entry.at_unix_s as f64).abs() / 3_600.0;
        let in_window = hours_apart <= self.config.window_hours;
        if !in_window {
            return None;
        }
        let distance_m = match (point, entry.point) {
            (Some(a), Some(b)) => {
                let d = distance_m(a, b);
                let in_radius = d <= self.config.radius_m;
                if !in_radius {
                    return None;
                }
                Some(d)
            }
            _ => None,
        };
        let similarity = similarity(signature, &entry.signature);
        let similar = similarity >= self.config.propose_at;
        if !similar {
            return None;
        }
        Some(Candidate {
            id: entry.id,
            similarity,
            distance_m,
            hours_apart,
        })
    }
}

/// Whether the place rules let a query at `point`/`area` be compared with `entry` (the scan's filter; the
/// index reaches the same entries through its structures).
fn comparable(entry: &Entry, point: Option<(f64, f64)>, area: Option<&str>) -> bool {
    if entry.placeless() {
        return true;
    }
    match (point, area) {
        (Some(_), area) => {
            entry.point.is_some() || (area.is_some() && entry.area.as_deref() == area)
        }
        (None, Some(area)) => entry.area.as_deref() == Some(area),
        (None, None) => true,
    }
}

/// Similarity first, then the nearer, then the closer in time, then the lower id (so the order is total).
fn best_first(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.similarity
        .total_cmp(&a.similarity)
        .then_with(|| match (a.distance_m, b.distance_m) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
        .then(a.hours_apart.total_cmp(&b.hours_apart))
        .then(a.id.cmp(&b.id))
}

fn valid_point((lon, lat): (f64, f64)) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// Great-circle distance (haversine) between two (longitude, latitude) points, metres.
pub fn distance_m((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = (lat2 - lat1).to_radians();
    let dlambda = (lon2 - lon1).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// One labelled pair of real messages (`crates/text/data/duplicate-pairs`, see its README).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPair {
    /// The pair's number in `pairs.tsv`.
    pub pair: u32,
    pub id_a: u64,
    pub id_b: u64,
    /// Each message as intake would read it: subject + "。" + body.
    pub text_a: String,
    pub text_b: String,
    /// Same concrete matter at the same place, by reading.
    pub duplicate: bool,
    /// How the pair was drawn (`near_identical`, `high`, `medium`, `low`, `similar_subject`,
    /// `same_place`, `same_topic`, `random`).
    pub stratum: String,
    pub note: String,
}

/// Where the labelled pairs are read from: `$ONEGRID_DUPLICATE_PAIRS` (a folder with `pairs.tsv` and
/// `messages.tsv.gz` in this format, e.g. a district's own), else the copy kept in the repository.
pub fn default_pairs_dir() -> PathBuf {
    std::env::var_os("ONEGRID_DUPLICATE_PAIRS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/duplicate-pairs"))
}

/// Reads `pairs.tsv` and `messages.tsv.gz` from `dir`.
pub fn read_labelled_pairs(dir: &Path) -> Result<Vec<LabelledPair>, TextError> {
    let messages_path = dir.join("messages.tsv.gz");
    let file = std::fs::File::open(&messages_path).map_err(|e| TextError::io(&messages_path, e))?;
    let mut content = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut content)
        .map_err(|e| TextError::io(&messages_path, e))?;
    let mut texts = HashMap::new();
    for (n, line) in content.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, _file, subject, _time, body] = fields[..] else {
            return Err(TextError::data(
                &messages_path,
                format!("line {}: expected 5 columns", n + 1),
            ));
        };
        let id: u64 = id.parse().map_err(|_| {
            TextError::data(&messages_path, format!("line {}: bad id {id:?}", n + 1))
        })?;
        texts.insert(id, format!("{subject}。{body}"));
    }
    let pairs_path = dir.join("pairs.tsv");
    let content =
        std::fs::read_to_string(&pairs_path).map_err(|e| TextError::io(&pairs_path, e))?;
    let mut pairs = Vec::new();
    for (n, line) in content.lines().enumerate().skip(1) {
        let bad = |what: &str| TextError::data(&pairs_path, format!("line {}: {what}", n + 1));
        let fields: Vec<&str> = line.split('\t').collect();
        let [pair, id_a, id_b, label, stratum, note] = fields[..] else {
            return Err(bad("expected 6 columns"));
        };
        let pair = pair.parse().map_err(|_| bad("bad pair number"))?;
        let id_a: u64 = id_a.parse().map_err(|_| bad("bad id_a"))?;
        let id_b: u64 = id_b.parse().map_err(|_| bad("bad id_b"))?;
        let duplicate = match label {
            "1" => true,
            "0" => false,
            _ => return Err(bad("label is not 0 or 1")),
        };
        let text = |id: u64| {
            texts
                .get(&id)
                .cloned()
                .ok_or_else(|| bad(&format!("message {id} is not in messages.tsv.gz")))
        };
        pairs.push(LabelledPair {
            pair,
            id_a,
            id_b,
            text_a: text(id_a)?,
            text_b: text(id_b)?,
            duplicate,
            stratum: stratum.to_string(),
            note: note.to_string(),
        });
    }
    Ok(pairs)
}

/// Counts of a `similarity >= threshold` decision against the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
}

impl Confusion {
    /// `scores`: (similarity, labelled duplicate) per pair; any score type (the benchmark's reference
    /// scores are f64).
    pub fn at<S: PartialOrd + Copy>(scores: &[(S, bool)], threshold: S) -> Confusion {
        let mut c = Confusion::default();
        for &(score, duplicate) in scores {
            match (score >= threshold, duplicate) {
                (true, true) => c.true_positives += 1,
                (true, false) => c.false_positives += 1,
                (false, true) => c.false_negatives += 1,
                (false, false) => c.true_negatives += 1,
            }
        }
        c
    }

    /// 1 when nothing is predicted (no false positive either).
    pub fn precision(&self) -> f64 {
        let predicted = self.true_positives + self.false_positives;
        if predicted == 0 {
            1.0
        } else {
            self.true_positives as f64 / predicted as f64
        }
    }

    pub fn recall(&self) -> f64 {
        let actual = self.true_positives + self.false_negatives;
        if actual == 0 {
            1.0
        } else {
            self.true_positives as f64 / actual as f64
        }
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_of_normalised_text_is_the_same() {
        for text in [
            "小区门口垃圾堆积，臭味很大。",
            "ＡＢＣ路段  路灯不亮。關於",
            "",
            "！！",
        ] {
            assert_eq!(
                signature(text),
                signature_normalised(&normalize(text)),
                "{text}"
            );
        }
    }

    #[test]
    fn heaviest_keys_are_those_of_a_full_sort() {
        let s = signature("东丽区金桥街道某小区门口垃圾堆积多日无人清理，臭味很大，影响居民出行");
        let mut all: Vec<(u32, f32)> = s.features.to_vec();
        all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for n in [0, 1, 5, TEXT_KEYS, s.len(), s.len() + 3] {
            let expected: Vec<u32> = all.iter().take(n).map(|&(id, _)| id).collect();
            assert_eq!(s.heaviest(n), expected, "n = {n}");
        }
    }

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude on the mean sphere.
        let d = distance_m((117.3, 39.0), (117.3, 40.0));
        assert!((d - 111_195.0).abs() < 1.0, "{d}");
        // Across the antimeridian at the equator: 0.002° ≈ 222 m.
        let d = distance_m((179.999, 0.0), (-179.999, 0.0));
        assert!((d - 222.4).abs() < 0.5, "{d}");
        assert_eq!(distance_m((117.3, 39.1), (117.3, 39.1)), 0.0);
    }

    #[test]
    fn heaviest_features_come_first() {
        let s = Signature {
            features: vec![(1, 0.2), (5, 0.9), (9, 0.4)].into(),
        };
        assert_eq!(s.heaviest(2), vec![5, 9]);
        assert_eq!(s.heaviest(10), vec![5, 9, 1]);
    }

    #[test]
    fn the_text_only_path_is_the_scan() {
        let mut index = DuplicateIndex::new(DuplicateConfig::default());
        let texts = [
            "阳光小区楼下烧烤摊油烟扰民。每天晚上烧烤到凌晨，油烟直接进屋",
            "阳光小区楼下烧烤油烟扰民严重。晚上营业到凌晨两点，油烟熏人",
            "幸福路路灯不亮。幸福路东段路灯坏了一个月",
        ];
        for (i, text) in texts.iter().enumerate() {
            index.insert(i as u64, None, None, 0, signature(text));
        }
        let query = signature("阳光小区楼下烧烤摊油烟扰民，请处理");
        assert_eq!(
            index.candidates(None, None, 0, &query, 10),
            index.candidates_by_scan(None, None, 0, &query, 10)
        );
    }
}

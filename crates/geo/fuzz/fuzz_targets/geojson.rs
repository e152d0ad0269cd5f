//! Any bytes given to the GeoJSON reader must give a layer or an error, never a panic, a hang or an
//! allocation out of proportion to the input. A layer that was read is written and read again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onegrid_geo::crs::Crs;
use onegrid_geo::read::{read_geojson, ReadOptions};
use onegrid_geo::write::to_geojson;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the coordinate system, so the conversions see arbitrary coordinates too.
    let (crs, json) = match data.split_first() {
        Some((choice, rest)) => {
            let crs = match choice % 3 {
                0 => Crs::Wgs84,
                1 => Crs::Gcj02,
                _ => Crs::Bd09,
            };
            (crs, rest)
        }
        None => (Crs::Wgs84, data),
    };
    let options = ReadOptions {
        crs,
        ..ReadOptions::default()
    };
    if let Ok(outcome) = read_geojson(json, &options) {
        let written = to_geojson(&outcome.layer);
        // Reading the written layer may report problems (e.g. a converted point past ±180°) but must not
        // fail as a whole unless the layer was empty.
        let reread = read_geojson(written.as_bytes(), &ReadOptions::default());
        assert!(
            reread.is_ok() || outcome.layer.features.is_empty(),
            "written layer does not read back: {reread:?}"
        );
    }
});

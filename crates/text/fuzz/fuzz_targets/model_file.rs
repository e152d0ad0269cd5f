//! Loading a damaged or hostile model file is an error, never a panic or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onegrid_text::model::Model;

fuzz_target!(|data: &[u8]| {
    let _ = Model::from_bytes(data);
});

//! Any bytes given to the shapefile reader must give a layer or an error, never a panic, a hang or an
//! allocation out of proportion to the input.
//!
//! Input layout: `flags: u8`, `shp_len: u16 LE`, `shx_len: u16 LE`, then `shp_len` bytes of `.shp`,
//! `shx_len` bytes of `.shx` and the rest as `.dbf` (lengths are cut to what is there). `flags & 3` picks the
//! `.cpg` (none, `GBK`, `UTF-8`, an unknown name); `flags & 4` passes the `.shx`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onegrid_geo::read::{read_shapefile_parts, ReadOptions, ShapefileParts};

fn take<'a>(data: &mut &'a [u8], len: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(len.min(data.len()));
    *data = tail;
    head
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let header = take(&mut data, 5);
    let [flags, s0, s1, x0, x1] = header else {
        return;
    };
    let shp = take(&mut data, usize::from(u16::from_le_bytes([*s0, *s1])));
    let shx = take(&mut data, usize::from(u16::from_le_bytes([*x0, *x1])));
    let dbf = data;
    let cpg: Option<&[u8]> = match flags & 3 {
        0 => None,
        1 => Some(b"GBK"),
        2 => Some(b"UTF-8"),
        _ => Some(b"x-unknown"),
    };
    let parts = ShapefileParts {
        shp,
        shx: (flags & 4 != 0).then_some(shx),
        dbf,
        cpg,
        prj: None,
    };
    let _ = read_shapefile_parts(&parts, &ReadOptions::default());
});

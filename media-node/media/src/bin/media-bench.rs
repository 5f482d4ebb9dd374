//! Media processing benchmark (filled in with the codecs).
fn main() {}

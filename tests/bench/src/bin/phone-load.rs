//! Cost of one phone check (`callisto_domain::phone::normalize_phone`) by the kind of
//! number a Russian account's import files hold. For each kind, `--numbers` distinct
//! numbers are generated (deterministic), checked once to warm up, then checked
//! `--passes` times; prints ns per number and the share that was accepted.
//! Bounded by `--numbers` (at most 100 000) and `--passes` (at most 100).

use callisto_domain::phone::normalize_phone;
use clap::Parser;
use std::hint::black_box;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Distinct numbers per kind.
    #[arg(long, default_value_t = 2_000)]
    numbers: usize,
    /// Timed passes over each kind's numbers.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// The account's default region.
    #[arg(long, default_value = "RU")]
    region: String,
}

/// A small deterministic generator (64-bit LCG): the same numbers on every run.
struct Digits(u64);

impl Digits {
    fn next(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'0' + ((self.0 >> 33) % 10) as u8)
            })
            .collect()
    }
}

type Spell = fn(&mut Digits) -> String;

/// Kind name and how to spell one number of that kind.
const KINDS: &[(&str, Spell)] = &[
    ("+7 912 345-67-89", |d| {
        let s = d.next(9);
        format!("+7 9{} {}-{}-{}", &s[..2], &s[2..5], &s[5..7], &s[7..])
    }),
    ("8 (912) 345-67-89", |d| {
        let s = d.next(9);
        format!("8 (9{}) {}-{}-{}", &s[..2], &s[2..5], &s[5..7], &s[7..])
    }),
    ("89123456789", |d| format!("89{}", d.next(9))),
    ("79123456789.0 (XLSX float)", |d| {
        format!("79{}.0", d.next(9))
    }),
    ("+7 (495) 123-45-67", |d| {
        let s = d.next(7);
        format!("+7 (495) {}-{}-{}", &s[..3], &s[3..5], &s[5..])
    }),
    ("8-800-555-35-35", |d| {
        let s = d.next(7);
        format!("8-800-{}-{}-{}", &s[..3], &s[3..5], &s[5..])
    }),
    ("8 (812) 123-45-67", |d| {
        let s = d.next(7);
        format!("8 (812) {}-{}-{}", &s[..3], &s[3..5], &s[5..])
    }),
    ("+48 601 234 567", |d| {
        let s = d.next(6);
        format!("+48 601 {} {}", &s[..3], &s[3..])
    }),
    ("+49 30 1234567", |d| format!("+49 30 {}", d.next(7))),
    ("+1 202-555-0123", |d| {
        let s = d.next(7);
        format!("+1 202-{}-{}", &s[..3], &s[3..])
    }),
    ("invalid: 8 (495) 12", |d| format!("8 (495) {}", d.next(2))),
];

fn main() {
    let args = Args::parse();
    let numbers = args.numbers.clamp(1, 100_000);
    let passes = args.passes.clamp(1, 100);
    println!(
        "phone-load  region={}  numbers per kind={numbers}  passes={passes}",
        args.region
    );
    let mut digits = Digits(3);
    let (mut total_ns, mut total_n) = (0.0, 0usize);
    for (name, spell) in KINDS {
        let inputs: Vec<String> = (0..numbers).map(|_| spell(&mut digits)).collect();
        let accepted = inputs
            .iter()
            .filter(|raw| normalize_phone(raw, &args.region).is_ok())
            .count();
        let start = Instant::now();
        for _ in 0..passes {
            for raw in &inputs {
                black_box(normalize_phone(black_box(raw), &args.region)).ok();
            }
        }
        let ns = start.elapsed().as_nanos() as f64;
        let n = numbers * passes;
        total_ns += ns;
        total_n += n;
        println!(
            "  {name:<28} {:>8.0} ns/number  accepted {:>5.1} %",
            ns / n as f64,
            100.0 * accepted as f64 / numbers as f64
        );
    }
    println!(
        "  {:<28} {:>8.0} ns/number",
        "all kinds",
        total_ns / total_n as f64
    );
}

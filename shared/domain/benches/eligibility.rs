//! `evaluate` on seeded pseudo-random transcripts of 10, 100 and 1,000 entries, for CPHIMS-CA
//! (contested Canadian hours: the exact split is solved) and CPHIMS (one set, no solve).

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use recert_domain::eligibility::{EntryFacts, evaluate};
use recert_domain::{Credential, Cycle, EntryId, Hours, ProviderCategory, RuleBook};
use std::hint::black_box;
use uuid::Uuid;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): seeded, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(below)) as u32
    }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
}

/// `n` entries averaging `mean` hundredths (±75 %), a fifth partly ethics, half Canadian
/// content, a few outside the cycle.
fn transcript(n: usize, mean: u32, seed: u64) -> Vec<EntryFacts> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            let hours = (mean / 4 + rng.next(mean * 3 / 2 + 1)).max(1);
            let ethics = if rng.next(5) == 0 {
                rng.next(hours + 1)
            } else {
                0
            };
            EntryFacts {
                id: EntryId(Uuid::from_u128(i as u128 + 1)),
                completed_on: d(2023, 8, 1) + chrono::Days::new(u64::from(rng.next(1200))),
                hours: Hours(hours),
                ethics_hours: Hours(ethics),
                category: ProviderCategory::ALL[rng.next(4) as usize],
                canadian_content: rng.next(2) == 0,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let book = RuleBook::default_rules();
    let cycle = Cycle {
        starts_on: d(2023, 9, 1),
        expires_on: d(2026, 8, 31),
        extended_to: None,
    };
    let mut group = c.benchmark_group("evaluate");
    // Entries of about 2 h each (1,000 entries: far more than needed), and "tight" transcripts
    // totalling about 62 h whatever their length, so every minimum is in play and the split of
    // the Canadian hours decides the verdict.
    for credential in [Credential::CphimsCa, Credential::Cphims] {
        let rules = book
            .for_cycle_starting(cycle.starts_on)
            .credential(credential);
        for n in [10usize, 100, 1000] {
            for (name, mean) in [("", 200), ("/tight", (6200 / n as u32).max(1))] {
                let entries = transcript(n, mean, 0x5EED ^ n as u64);
                let id = BenchmarkId::new(format!("{}{name}", credential.code()), n);
                group.bench_with_input(id, &entries, |b, entries| {
                    b.iter(|| evaluate(black_box(rules), black_box(&cycle), black_box(entries)));
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

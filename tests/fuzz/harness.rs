//! What the fuzz targets share: the budget (cases or seconds), the loop of
//! proptest runners, the corpus of seeds, and byte-level mutations of them.

use std::cell::Cell;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per target when no time is asked for: seconds each, for CI.
const DEFAULT_CASES: u32 = 3000;
/// Cases per runner when running for a time: a runner is made again (with a
/// fresh seed) until the deadline.
const ROUND_CASES: u32 = 1000;
/// No input grows past this (a huge string is a few of these).
pub const MAX_INPUT: usize = 1 << 20;

/// How long each target runs: `GUICHET_FUZZ_SECS` seconds, else
/// `GUICHET_FUZZ_CASES` cases (default 3000).
struct Budget {
    deadline: Option<Instant>,
    cases: u32,
}

impl Budget {
    fn from_env() -> Budget {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        match number("GUICHET_FUZZ_SECS") {
            Some(secs) => Budget {
                deadline: Some(Instant::now() + Duration::from_secs(secs)),
                cases: ROUND_CASES,
            },
            None => Budget {
                deadline: None,
                cases: number("GUICHET_FUZZ_CASES")
                    .map_or(DEFAULT_CASES, |n| n.clamp(1, u64::from(u32::MAX)) as u32),
            },
        }
    }
}

thread_local! {
    /// Panics on this thread are expected (proptest catches them while
    /// shrinking): the hook keeps quiet about them.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Runs `test` on inputs from `strategy` within the budget; a failure
/// (a panic, or a broken property) fails the test with the smallest input
/// proptest could shrink it to. Returns the number of cases run.
pub fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64
where
    S: Strategy,
    S::Value: Debug,
{
    fuzz_slow(name, 1, strategy, test)
}

/// `fuzz` for a target whose cases cost about `slowness` times the others'
/// (a store opened each): a share of the cases when counting cases, the
/// same time when running for a time.
pub fn fuzz_slow<S>(
    name: &str,
    slowness: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: Debug,
{
    install_quiet_hook();
    let mut budget = Budget::from_env();
    if budget.deadline.is_none() {
        budget.cases = (budget.cases / slowness.max(1)).max(1);
    }
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        let mut runner = TestRunner::new(Config {
            cases: budget.cases,
            failure_persistence: None,
            max_shrink_iters: 20_000,
            ..Config::default()
        });
        QUIET.with(|q| q.set(true));
        let result = runner.run(&strategy, &test);
        QUIET.with(|q| q.set(false));
        match result {
            Ok(()) => cases += u64::from(budget.cases),
            Err(TestError::Fail(reason, input)) => {
                panic!("fuzz {name}: {reason}\nsmallest input: {input:#?}")
            }
            Err(TestError::Abort(reason)) => panic!("fuzz {name}: aborted: {reason}"),
        }
        if budget.deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1} s, no failure",
        started.elapsed().as_secs_f64()
    );
    cases
}

/// The seeds of a target: every file of `tests/fuzz/corpus/<target>/`
/// (regression cases included: a fixed panic stays fixed).
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed in {}", dir.display());
    files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target)
}

/// Text as a parser would get it from a file or a request.
pub fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Bytes shown as text in a failure's report.
#[derive(Clone)]
pub struct Bytes(pub Vec<u8>);

impl Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// One change to an input. Positions are taken modulo the input's length,
/// so any edit applies to any input (and shrinking keeps them valid).
#[derive(Debug, Clone)]
pub enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, usize, Vec<u8>),
    /// The bytes at a range, repeated n times in place (huge values, deep
    /// nesting, long lists).
    Repeat(usize, usize, usize),
    Truncate(usize),
    FlipBit(usize, u8),
    /// A range of another seed, put in at a position.
    Splice(usize, usize, usize, usize),
}

/// Bytes to insert: a word of the target's grammar, or anything.
fn payload(dictionary: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => proptest::sample::select(dictionary).prop_map(|w| w.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..8),
        1 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
    ]
    .boxed()
}

fn edit(dictionary: &'static [&'static str]) -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        4 => (at, payload(dictionary)).prop_map(|(p, b)| Edit::Insert(p, b)),
        2 => (at, 1..16usize).prop_map(|(p, n)| Edit::Delete(p, n)),
        4 => (at, 0..8usize, payload(dictionary)).prop_map(|(p, n, b)| Edit::Replace(p, n, b)),
        1 => (at, 1..32usize, prop_oneof![2..8usize, 100..5000usize])
            .prop_map(|(p, n, k)| Edit::Repeat(p, n, k)),
        1 => at.prop_map(Edit::Truncate),
        2 => (at, 0..8u8).prop_map(|(p, b)| Edit::FlipBit(p, b)),
        1 => (any::<usize>(), at, at, 1..64usize).prop_map(|(s, p, q, n)| Edit::Splice(s, p, q, n)),
    ]
}

fn apply(input: &mut Vec<u8>, edit: &Edit, seeds: &[Vec<u8>]) {
    let at = |p: usize, len: usize| p % (len + 1);
    let len = input.len();
    match edit {
        Edit::Insert(p, bytes) => {
            let p = at(*p, len);
            input.splice(p..p, bytes.iter().copied());
        }
        Edit::Delete(p, n) => {
            let p = at(*p, len);
            input.drain(p..(p + n).min(len));
        }
        Edit::Replace(p, n, bytes) => {
            let p = at(*p, len);
            input.splice(p..(p + n).min(len), bytes.iter().copied());
        }
        Edit::Repeat(p, n, times) => {
            let p = at(*p, len);
            let piece = input[p..(p + n).min(len)].to_vec();
            if !piece.is_empty() && len + piece.len() * times <= MAX_INPUT {
                let more: Vec<u8> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(piece.len() * times)
                    .collect();
                input.splice(p..p, more);
            }
        }
        Edit::Truncate(p) => input.truncate(at(*p, len)),
        Edit::FlipBit(p, bit) => {
            if len > 0 {
                input[p % len] ^= 1 << bit;
            }
        }
        Edit::Splice(seed, from, p, n) => {
            let other = &seeds[seed % seeds.len()];
            let from = at(*from, other.len());
            let piece = &other[from..(from + n).min(other.len())];
            let p = at(*p, len);
            input.splice(p..p, piece.iter().copied());
        }
    }
}

/// A seed of the corpus with a few edits: the inputs a real one is most
/// likely to be damaged into.
pub fn mutated(seeds: Vec<Vec<u8>>, dictionary: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let seeds = std::sync::Arc::new(seeds);
    let count = seeds.len();
    (0..count, proptest::collection::vec(edit(dictionary), 0..10))
        .prop_map(move |(seed, edits)| {
            let mut input = seeds[seed].clone();
            for edit in &edits {
                apply(&mut input, edit, &seeds);
            }
            input
        })
        .boxed()
}

/// Any bytes at all, and words of the grammar in any order.
pub fn raw(dictionary: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(payload(dictionary), 0..40).prop_map(|words| words.concat()),
    ]
    .boxed()
}

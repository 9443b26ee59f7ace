//! The console's figures, on a store of N cached cases (default 100,000),
//! each beside a baseline or a rival measured in the same run:
//! - a word (`martin`) and a typo (`passepirt`) through the store's search
//!   and as a whole `guichet cases` process, beside the first page of open
//!   cases and `fzf --filter` over the same cases as lines of text
//!   (`GUICHET_BENCH_SEARCH_ONLY=1` stops there);
//! - the real console in tmux (80x24): start to first frame, keystroke to
//!   frame while filtering (idle back-end, a full sync running, a hung
//!   back-end), peak memory with 1,000 and with N cached cases, idle CPU.
//!
//!   cargo bench --bench console
//!   GUICHET_BENCH_CASES=100000 GUICHET_BENCH_IDLE_SECONDS=60 cargo bench --bench console
//!
//! Needs tmux and fzf (`apt-get install tmux fzf`). The console writes its
//! timings to its log (target `guichet::bench`, debug level), read here.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use guichet::domain::search::{Search, View};
use guichet::store::{Meta, Sort};
use support::agent::Agent;
use support::bench::{env_number, listing, spread};
use support::server;
use support::tmux::Console;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A percentile of microsecond samples, in milliseconds.
fn percentile(samples: &[u64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at] as f64 / 1000.0
}

/// A workstation with N cases synced from a real server.
struct Desk {
    agent: Agent,
    _server: server::Server,
}

impl Desk {
    fn new(cases: usize) -> Desk {
        let started = Instant::now();
        let server = server::start(cases as u32, &[]);
        let agent = Agent::login(&server.url, "superviseur");
        agent.ok(&["sync"]);
        println!(
            "store of {cases} cases ready in {:.1} s (seed and first sync)",
            started.elapsed().as_secs_f64()
        );
        Desk {
            agent,
            _server: server,
        }
    }

    fn home(&self) -> PathBuf {
        self.agent.home().to_path_buf()
    }

    fn log(&self) -> PathBuf {
        self.home().join("state").join("guichet.log")
    }

    /// Runs the console, hands it to `script`, and returns the log lines it
    /// wrote meanwhile.
    fn session(&self, script: impl FnOnce(&Console)) -> String {
        let log = self.log();
        let before = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let console = Console::start(
            &self.home(),
            &self.agent.profile,
            (80, 24),
            &[("GUICHET_LOG", "debug"), ("LC_ALL", "en_GB.UTF-8")],
            &[],
        );
        console.wait_for("[1 Mine]");
        // A supervisor has no cases of their own: work the open ones.
        console.keys(&["3"]);
        console.wait_for("[3 Open]");
        script(&console);
        console.keys(&["C-c"]);
        assert!(
            console.wait_gone(Duration::from_secs(10)),
            "the console ends"
        );
        // The log is written by a background thread: give it its beat.
        std::thread::sleep(Duration::from_millis(300));
        let text = std::fs::read(&log).unwrap_or_default();
        String::from_utf8_lossy(&text[before.min(text.len())..]).into_owned()
    }
}

/// The numbers after `field=` on the log lines that have it.
fn values(log: &str, field: &str) -> Vec<u64> {
    let needle = format!("{field}=");
    log.lines()
        .filter_map(|l| {
            let at = l.find(&needle)? + needle.len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// Types the typo query one key at a time, as a person does, `rounds`
/// times, clearing the filter in between.
fn type_queries(console: &Console, rounds: usize) {
    for _ in 0..rounds {
        console.keys(&["/"]);
        for c in "passepirt".chars() {
            console.type_text(&c.to_string());
        }
        console.keys(&["Escape"]);
    }
}

fn typing_figures(label: &str, log: &str) {
    let keys = values(log, "key_to_frame_us");
    let lists = values(log, "query_to_frame_us");
    println!(
        "| keystroke to frame, {label} | p50 {:.2} ms, p99 {:.2} ms ({} keys) | results to frame p50 {:.1} ms, p99 {:.1} ms ({} queries) |",
        percentile(&keys, 0.5),
        percentile(&keys, 0.99),
        keys.len(),
        percentile(&lists, 0.5),
        percentile(&lists, 0.99),
        lists.len()
    );
}

/// CPU seconds (user + system) of a process so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Some(ticks / hz)
}

/// A word and a typo through the store, per query and as a whole
/// `guichet cases` process, beside the first page of open cases and beside
/// `fzf --filter` over the same cases as text (one process each).
fn search_beside_fzf(agent: &support::agent::Agent, cases: usize) {
    let store = agent.open_store();
    let time = |search: &Search| {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..15 {
            let started = Instant::now();
            let page = store
                .search_page(search, Sort::Urgency, false, (0, 60), true)
                .expect("search");
            times.push(started.elapsed());
            total = page.total.unwrap_or(0);
        }
        (spread(times), total)
    };
    let baseline = Search::default().with(View::Open.filters());
    let ((base, base_min, base_max), _) = time(&baseline);

    // The same cases as fzf would be given them: one line each.
    let conn = agent.store_connection();
    let lines_path = std::env::temp_dir().join(format!("guichet-bench-{}.txt", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&lines_path).expect("lines file"));
    let mut stmt = conn
        .prepare(
            "SELECT c.number || ' ' || coalesce(p.name, '') || ' ' || coalesce(ch.label_fr, c.procedure) || ' ' || c.summary
             FROM cases c LEFT JOIN citizens p ON p.id = c.citizen
             LEFT JOIN choices ch ON ch.list = 'procedure' AND ch.value = c.procedure",
        )
        .expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    while let Some(row) = rows.next().expect("row") {
        let line: String = row.get(0).expect("line");
        writeln!(file, "{}", line.replace(['\n', '\r'], " ")).expect("write");
    }
    drop(file);
    println!("\n## Search over {cases} cases (median; min-max)\n");
    println!("| query | time | beside | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| first page of open cases (baseline), median of 15 | {:.2} ms ({:.2}-{:.2}) | | x1 |",
        ms(base),
        ms(base_min),
        ms(base_max)
    );
    for (kind, query) in [("word", "martin"), ("typo", "passepirt")] {
        let search = Search::parse(query).expect("search");
        let ((median, low, high), found) = time(&search);
        let whole = spread(
            (0..7)
                .map(|_| {
                    let started = Instant::now();
                    agent.ok(&["--offline", "cases", "--view", "all", "-q", query, "--json"]);
                    started.elapsed()
                })
                .collect(),
        );
        let Some(((f, fmin, fmax), fzf_found)) = fzf(query, &lines_path) else {
            println!("fzf could not run: apt-get install fzf");
            break;
        };
        println!(
            "| {kind} `{query}` in the store ({found} matches), median of 15 | {:.1} ms ({:.1}-{:.1}) | `fzf --filter {query}` on the same {cases} lines ({fzf_found} matches), median of 7: {:.1} ms ({:.1}-{:.1}) | Guichet/fzf = {:.3} |",
            ms(median),
            ms(low),
            ms(high),
            ms(f),
            ms(fmin),
            ms(fmax),
            ms(median) / ms(f)
        );
        println!(
            "| {kind} `{query}`, the whole `guichet --offline cases -q` process, median of 7 | {:.1} ms ({:.1}-{:.1}) | the whole fzf process above | Guichet/fzf = {:.3} |",
            ms(whole.0),
            ms(whole.1),
            ms(whole.2),
            ms(whole.0) / ms(f)
        );
        // The lines compare.sh gathers into its summary table.
        println!(
            "SUMMARY|console ({cases} cases)|{kind} `{query}`, median of 15|{:.1} ms; whole process {:.1} ms|fzf --filter: {:.1} ms: Guichet/fzf = {:.2}, whole process {:.2} (target <= 0.25)",
            ms(median),
            ms(whole.0),
            ms(f),
            ms(median) / ms(f),
            ms(whole.0) / ms(f)
        );
    }
    let _ = std::fs::remove_file(&lines_path);
}

/// `fzf --filter query` over the lines, 7 times: the median, min and max
/// of its whole process, and how many lines it kept. None without fzf.
fn fzf(query: &str, lines: &std::path::Path) -> Option<((Duration, Duration, Duration), usize)> {
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..7 {
        let started = Instant::now();
        let out = Command::new("fzf")
            .args(["--filter", query])
            .stdin(std::fs::File::open(lines).expect("lines"))
            .stderr(Stdio::null())
            .output()
            .ok()?;
        times.push(started.elapsed());
        found = out
            .stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
    }
    Some((spread(times), found))
}

/// A listener that accepts connections and never answers: a back-end that hangs.
fn black_hole() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            if held.len() > 64 {
                held.remove(0);
            }
        }
    });
    format!("http://{addr}")
}

fn main() {
    if listing() {
        return;
    }
    let cases = env_number("GUICHET_BENCH_CASES", 100_000);
    let idle_seconds = env_number("GUICHET_BENCH_IDLE_SECONDS", 60);
    let big = Desk::new(cases);
    let small = Desk::new(1000);

    search_beside_fzf(&big.agent, cases);
    if std::env::var_os("GUICHET_BENCH_SEARCH_ONLY").is_some() {
        return;
    }

    println!("\n## The console in tmux, 80x24, {cases} cached cases\n");
    println!("| what | figure | beside |");
    println!("|---|---|---|");
    // Memory first, on the same script for both stores.
    let script = |console: &Console| {
        console.wait_until("rows", |s| s.contains("CS0"));
        console.keys(&["G"]);
        console.keys(&["g"]);
        console.keys(&["/"]);
        console.type_text("passepirt");
        console.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(500));
        console.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(300));
        console.keys(&["Escape"]);
        console.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    };
    let small_log = small.session(script);
    let big_log = big.session(script);
    let first = |log: &str, field: &str| {
        values(log, field)
            .first()
            .map_or(f64::NAN, |v| *v as f64 / 1000.0)
    };
    println!(
        "| start to first frame | {:.1} ms ({cases} cases) | {:.1} ms (1,000 cases) |",
        first(&big_log, "first_frame_us"),
        first(&small_log, "first_frame_us")
    );
    println!(
        "| start to first frame with rows | {:.1} ms ({cases} cases) | {:.1} ms (1,000 cases) |",
        first(&big_log, "first_rows_us"),
        first(&small_log, "first_rows_us")
    );
    let big_mem = first(&big_log, "peak_memory_kb");
    let small_mem = first(&small_log, "peak_memory_kb");
    println!(
        "| peak memory (VmHWM), same script | {:.1} MiB ({cases} cases) | {:.1} MiB (1,000 cases): x{:.2} |",
        big_mem * 1000.0 / 1024.0,
        small_mem * 1000.0 / 1024.0,
        big_mem / small_mem
    );
    println!(
        "SUMMARY|console ({cases} cases)|start to first frame with rows; peak memory|{:.1} ms; {:.1} MiB|1,000 cases: {:.1} ms; {:.1} MiB",
        first(&big_log, "first_rows_us"),
        big_mem * 1000.0 / 1024.0,
        first(&small_log, "first_rows_us"),
        small_mem * 1000.0 / 1024.0
    );

    // Keystrokes with the back-end idle, then with idle CPU measured.
    let mut idle_cpu = None;
    let log = big.session(|console| {
        type_queries(console, 5);
        std::thread::sleep(Duration::from_secs(2));
        if let Some(pid) = console.pid() {
            let before = cpu_seconds(pid);
            std::thread::sleep(Duration::from_secs(idle_seconds as u64));
            let after = cpu_seconds(pid);
            if let (Some(b), Some(a)) = (before, after) {
                idle_cpu = Some((a - b) / idle_seconds as f64 * 100.0);
            }
        }
    });
    typing_figures("back-end idle", &log);
    match idle_cpu {
        Some(cpu) => println!(
            "| idle CPU over {idle_seconds} s | {cpu:.2} % of a core | a sync round a minute included |"
        ),
        None => println!("| idle CPU | not measured (no /proc) | |"),
    }

    // While a full sync runs: the store forgets its watermark, so the
    // console's first round pulls every case again.
    {
        let store = big.agent.open_store();
        store
            .set_meta(Meta::Watermark, "null")
            .expect("reset watermark");
    }
    let mut syncing_seen = false;
    let log = big.session(|console| {
        std::thread::sleep(Duration::from_millis(500));
        type_queries(console, 5);
        syncing_seen = console.screen().contains("syncing");
    });
    typing_figures(
        if syncing_seen {
            "a full sync running throughout"
        } else {
            "a full sync running (it ended before the typing did)"
        },
        &log,
    );

    // A back-end that accepts and never answers.
    big.agent.retarget(&black_hole());
    let log = big.session(|console| {
        std::thread::sleep(Duration::from_millis(500));
        type_queries(console, 5);
    });
    typing_figures("back-end hung (accepts, never answers)", &log);
}

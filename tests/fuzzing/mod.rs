//! The stable-toolchain fuzz runner (see `tests/fuzz.rs` for its settings).
//!
//! A target runs on its own thread (8 MiB of stack, as a main thread has):
//! first every seed, then seeded mutations until its time is up. The
//! calling test watches it: a panic is caught and its input shrunk, an
//! input that runs longer than the per-input limit is a hang, an abort
//! (stack overflow, allocation over the cap) is saved by a signal
//! handler. Each failure names the target and the seed and writes the
//! input to a file.

mod abort;
mod mutate;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use paceline::fuzz::Target;

use mutate::Mutator;

/// Stack of a fuzzing thread: the CLI and the daemon parse on their main
/// thread, which has 8 MiB.
const STACK_BYTES: usize = 8 << 20;
/// How long a panic's input is shrunk for.
const SHRINK_FOR: Duration = Duration::from_secs(10);

/// What the environment asks for.
pub struct Options {
    /// Time per target (mutations after the seeds).
    pub run_for: Duration,
    pub seed: u64,
    /// Only these targets (all when empty).
    pub only: Vec<String>,
    /// Run these inputs (a file or a directory) instead of fuzzing.
    pub input: Option<PathBuf>,
    /// More seeds (a directory), e.g. Pacemaker's scheduler tests.
    pub extra: Option<PathBuf>,
    /// Longest time one input may take before it counts as a hang.
    pub per_input: Duration,
    pub artifacts: PathBuf,
    /// The seeds already ran (a restart after a known abort).
    pub skip_seeds: bool,
    /// Known failures fail too (replays of them).
    pub strict: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_seed(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

impl Options {
    pub fn from_env() -> Options {
        let secs = |name: &str, default: f64| {
            env(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(Duration::from_secs_f64(default), Duration::from_secs_f64)
        };
        let seed = env("PACELINE_FUZZ_SEED")
            .and_then(|s| parse_seed(&s))
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                now.as_nanos() as u64 ^ u64::from(std::process::id())
            });
        Options {
            run_for: secs("PACELINE_FUZZ_SECS", 8.0),
            seed,
            only: env("PACELINE_FUZZ_TARGET")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            input: env("PACELINE_FUZZ_INPUT").map(PathBuf::from),
            extra: env("PACELINE_FUZZ_EXTRA").map(PathBuf::from),
            per_input: secs("PACELINE_FUZZ_TIMEOUT_SECS", 30.0),
            artifacts: env("PACELINE_FUZZ_ARTIFACTS")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-artifacts")),
            skip_seeds: env(SKIP_SEEDS).is_some(),
            strict: env(STRICT).is_some() || env("PACELINE_FUZZ_INPUT").is_some(),
        }
    }

    fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// Set in the child process that fuzzes (see [`run`]).
const CHILD: &str = "PACELINE_FUZZ_CHILD";
const SKIP_SEEDS: &str = "PACELINE_FUZZ_SKIP_SEEDS";
const STRICT: &str = "PACELINE_FUZZ_STRICT";

/// The seed directory of a target (in the repository).
pub fn seed_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(name)
}

/// Files of a directory (or the one file), sorted by name.
fn read_inputs(path: &Path) -> Vec<Vec<u8>> {
    if path.is_file() {
        return std::fs::read(path).into_iter().collect();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

/// Lines for the test log that the harness does not capture, so CI shows
/// every target's figures.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

thread_local! {
    /// Set while shrinking: the panics of candidates are not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic of this thread happened.
    static LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records panic locations; prints panics as usual unless shrinking.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            LOCATION.with(|l| *l.borrow_mut() = at);
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// A failure already reported and being fixed elsewhere: the runner
/// counts its inputs and goes on, instead of failing every CI run for it
/// again. Each has an ignored `known_*` test in tests/fuzz.rs that fails
/// today; once it is fixed, the test loses its `#[ignore]` and the entry
/// goes.
pub struct Known {
    pub targets: &'static [&'static str],
    /// Where it panics and what it says (parts of the panic's text).
    pub at: &'static str,
    pub message: &'static str,
    pub why: &'static str,
}

pub const KNOWN: &[Known] = &[];

fn known(target: &str, text: &str) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| k.targets.contains(&target) && text.contains(k.at) && text.contains(k.message))
}

/// How an input failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    Panic(String),
    Hang(Duration),
}

struct Failure {
    fault: Fault,
    input: Vec<u8>,
    exec: u64,
    shrunk_from: Option<usize>,
}

#[derive(Default)]
struct Stats {
    execs: u64,
    seeds: usize,
    slowest: Duration,
    /// Inputs that hit a known failure, and which.
    known: u64,
    known_why: Vec<&'static str>,
}

/// What the watching thread can see of the worker.
#[derive(Default)]
struct Current {
    input: Option<(Instant, u64, Arc<[u8]>)>,
}

struct Worker {
    target: &'static Target,
    seeds: Vec<Vec<u8>>,
    skip_seeds: bool,
    strict: bool,
    mutate: bool,
    seed: u64,
    run_for: Duration,
    current: Arc<Mutex<Current>>,
    slot: &'static abort::Slot,
}

fn lock(m: &Mutex<Current>) -> std::sync::MutexGuard<'_, Current> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let at = LOCATION.with(|l| l.borrow().clone());
    format!("panicked at {at}: {msg}")
}

impl Worker {
    /// Runs one input; `Some` is the panic it caused.
    fn exec(&self, input: &[u8], exec: u64, stats: &mut Stats) -> Option<String> {
        let shared: Arc<[u8]> = Arc::from(input);
        lock(&self.current).input = Some((Instant::now(), exec, shared.clone()));
        self.slot.running(&shared);
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.target.run)(&shared)));
        stats.slowest = stats.slowest.max(started.elapsed());
        self.slot.idle();
        lock(&self.current).input = None;
        stats.execs += 1;
        let panic = panic_text(outcome.err()?.as_ref());
        match known(self.target.name, &panic).filter(|_| !self.strict) {
            Some(k) => {
                stats.known += 1;
                if !stats.known_why.contains(&k.why) {
                    stats.known_why.push(k.why);
                }
                None
            }
            None => Some(panic),
        }
    }

    fn run(self) -> Result<Stats, Failure> {
        let mut stats = Stats {
            seeds: self.seeds.len(),
            ..Stats::default()
        };
        let seeds = if self.skip_seeds {
            &[][..]
        } else {
            &self.seeds[..]
        };
        for (i, input) in seeds.iter().enumerate() {
            if let Some(message) = self.exec(input, i as u64, &mut stats) {
                return Err(self.failure(message, input.clone(), i as u64));
            }
        }
        if !self.mutate || self.seeds.is_empty() {
            return Ok(stats);
        }
        let mut mutator = Mutator::new(self.seed, self.target);
        let deadline = Instant::now() + self.run_for;
        let mut exec = self.seeds.len() as u64;
        while Instant::now() < deadline {
            let mut input = self.seeds[mutator.below(self.seeds.len())].clone();
            let other = &self.seeds[mutator.below(self.seeds.len())];
            mutator.mutate(&mut input, other);
            if let Some(message) = self.exec(&input, exec, &mut stats) {
                return Err(self.failure(message, input, exec));
            }
            exec += 1;
        }
        Ok(stats)
    }

    fn failure(&self, message: String, input: Vec<u8>, exec: u64) -> Failure {
        let (input, shrunk_from) = self.shrink(input, &message);
        Failure {
            fault: Fault::Panic(message),
            input,
            exec,
            shrunk_from,
        }
    }

    /// Panics again with the same message? (Quietly.)
    fn same_panic(&self, input: &[u8], message: &str) -> bool {
        QUIET.with(|q| q.set(true));
        let shared: Arc<[u8]> = Arc::from(input);
        lock(&self.current).input = Some((Instant::now(), u64::MAX, shared.clone()));
        self.slot.running(&shared);
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.target.run)(&shared)));
        self.slot.idle();
        lock(&self.current).input = None;
        QUIET.with(|q| q.set(false));
        outcome.is_err_and(|p| panic_text(p.as_ref()) == message)
    }

    /// Removes chunks, halving their size, while the same panic remains.
    fn shrink(&self, mut input: Vec<u8>, message: &str) -> (Vec<u8>, Option<usize>) {
        let original = input.len();
        let until = Instant::now() + SHRINK_FOR;
        let mut chunk = input.len() / 2;
        while chunk > 0 && Instant::now() < until {
            let mut at = 0;
            while at < input.len() && Instant::now() < until {
                let end = (at + chunk).min(input.len());
                let mut candidate = input[..at].to_vec();
                candidate.extend_from_slice(&input[end..]);
                if self.same_panic(&candidate, message) {
                    input = candidate;
                } else {
                    at += chunk;
                }
            }
            chunk /= 2;
        }
        let shrunk = (input.len() < original).then_some(original);
        (input, shrunk)
    }
}

fn describe(target: &Target, opts: &Options, failure: &Failure, saved: &Path) -> String {
    let what = match &failure.fault {
        Fault::Panic(m) => m.clone(),
        Fault::Hang(t) => format!(
            "one input ran {:.1} s (limit {:.1} s, PACELINE_FUZZ_TIMEOUT_SECS): a hang or a super-linear cost",
            t.as_secs_f64(),
            opts.per_input.as_secs_f64()
        ),
    };
    let shrunk = failure
        .shrunk_from
        .map(|n| format!(", shrunk from {n}"))
        .unwrap_or_default();
    format!(
        "fuzz target `{name}` ({reads}) failed: {what}\n  \
         input #{exec} of seed {seed:#x}, {len} bytes{shrunk}, saved to {saved}\n  \
         replay it: PACELINE_FUZZ_TARGET={name} PACELINE_FUZZ_INPUT={saved} cargo test --test fuzz {name}\n  \
         the same run: PACELINE_FUZZ_SEED={seed:#x} PACELINE_FUZZ_TARGET={name} cargo test --test fuzz {name}\n  \
         fix the parser, then add the input (shrunk) to fuzz/seeds/{name}/ or a unit test",
        name = target.name,
        reads = target.reads,
        exec = failure.exec,
        seed = opts.seed,
        len = failure.input.len(),
        saved = saved.display(),
    )
}

fn save(opts: &Options, name: &str, suffix: &str, input: &[u8]) -> PathBuf {
    let path = opts
        .artifacts
        .join(format!("{name}-{:#x}-{suffix}.bin", opts.seed));
    let _ = std::fs::create_dir_all(&opts.artifacts);
    if let Err(e) = std::fs::write(&path, input) {
        say(&format!(
            "cannot save the failing input to {}: {e}",
            path.display()
        ));
    }
    path
}

/// The seeds of a target: its corpus files, what the code generates, and
/// the extra directory if one is given.
fn seeds(target: &Target, opts: &Options) -> Vec<Vec<u8>> {
    let mut seeds = read_inputs(&seed_dir(target.name));
    seeds.extend((target.generated)());
    if let Some(extra) = &opts.extra {
        seeds.extend(read_inputs(extra));
    }
    seeds.sort();
    seeds.dedup();
    seeds
}

/// Runs `body` as the test `test` in a child process (where an abort
/// ends only the child), on a thread with a main thread's stack: the test
/// fails if the child fails.
pub fn isolated(test: &str, body: impl FnOnce() + Send + 'static) {
    if env(CHILD).is_none() {
        if let Err(failure) = child(test, &[]) {
            panic!("`{test}` failed in its child process:\n{}", failure.text);
        }
        return;
    }
    let thread = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(body)
        .unwrap_or_else(|e| panic!("cannot start a thread: {e}"));
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// How a child ended badly: its stderr, and whether it aborted.
struct ChildFailure {
    text: String,
    aborted: bool,
}

/// Runs test `test` of this binary in a child process with `env` added;
/// its stderr is shown (and returned on failure).
fn child(test: &str, env: &[(&str, String)]) -> Result<(), ChildFailure> {
    use std::os::unix::process::ExitStatusExt;
    let exe =
        std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        test,
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the fuzzing child: {e}"));
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    for line in text.lines() {
        say(line);
    }
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("running 1 test"),
            "the child did not run `{test}`:\n{stdout}"
        );
        return Ok(());
    }
    Err(ChildFailure {
        text,
        aborted: out.status.signal().is_some(),
    })
}

/// Fuzzes `name` in child processes (an abort ends only the child): a
/// known abort restarts it with the next seed for the time left; any other
/// failure fails the test with the child's report.
pub fn run(name: &str) {
    if env(CHILD).is_some() {
        run_here(name);
        return;
    }
    let opts = Options::from_env();
    if !opts.selected(name) {
        say(&format!("fuzz {name}: not selected (PACELINE_FUZZ_TARGET)"));
        return;
    }
    let deadline = Instant::now() + opts.run_for;
    let mut seed = opts.seed;
    let mut skip_seeds = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut env = vec![
            ("PACELINE_FUZZ_SEED", format!("{seed:#x}")),
            ("PACELINE_FUZZ_SECS", format!("{}", left.as_secs_f64())),
        ];
        if skip_seeds {
            env.push((SKIP_SEEDS, "1".into()));
        }
        let Err(failure) = child(name, &env) else {
            return;
        };
        match known(name, &failure.text).filter(|_| failure.aborted && !opts.strict) {
            Some(k) if Instant::now() < deadline => {
                say(&format!(
                    "fuzz {name}: seed {seed:#x} hit a known failure ({}); going on with the next seed",
                    k.why
                ));
                seed = seed.wrapping_add(1);
                skip_seeds = true;
            }
            Some(k) => {
                say(&format!(
                    "fuzz {name}: seed {seed:#x} hit a known failure ({}) as its time ran out",
                    k.why
                ));
                return;
            }
            None => panic!("fuzz target `{name}` failed (its report is above)"),
        }
    }
}

/// Fuzzes one target in this process as the environment says; panics
/// (fails the test) with the failure's description.
fn run_here(name: &str) {
    let Some(target) = paceline::fuzz::target(name) else {
        panic!("`{name}` is not in paceline::fuzz::TARGETS");
    };
    let opts = Options::from_env();
    if !opts.selected(name) {
        say(&format!("fuzz {name}: not selected (PACELINE_FUZZ_TARGET)"));
        return;
    }
    install_panic_hook();
    let (seeds, mutate) = match &opts.input {
        Some(path) => (read_inputs(path), false),
        None => (seeds(target, &opts), true),
    };
    assert!(
        !seeds.is_empty(),
        "fuzz target `{name}` has no seeds: add files to {}",
        seed_dir(name).display()
    );
    let started = Instant::now();
    let current = Arc::new(Mutex::new(Current::default()));
    let (tx, rx) = mpsc::channel();
    let abort_path = opts
        .artifacts
        .join(format!("{name}-{:#x}-abort.bin", opts.seed));
    let _ = std::fs::create_dir_all(&opts.artifacts);
    let note = format!(
        "\nfuzz target `{name}` aborted the process (stack overflow or allocation failure, see above) with seed {:#x}; its input is saved in {}\n",
        opts.seed,
        abort_path.display()
    );
    let worker_current = current.clone();
    let (seed, run_for) = (opts.seed, opts.run_for);
    let (skip_seeds, strict) = (opts.skip_seeds, opts.strict);
    let spawned = std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let slot = abort::register(&abort_path, note);
            let worker = Worker {
                target,
                seeds,
                skip_seeds,
                strict,
                mutate,
                seed,
                run_for,
                current: worker_current,
                slot,
            };
            let _ = tx.send(worker.run());
        });
    if let Err(e) = spawned {
        panic!("cannot start the fuzzing thread: {e}");
    }
    let outcome = watch(&rx, &current, &opts);
    match outcome {
        Ok(stats) => {
            let secs = started.elapsed().as_secs_f64();
            let known = if stats.known > 0 {
                format!(
                    " ({} inputs hit known failures: {})",
                    stats.known,
                    stats.known_why.join("; ")
                )
            } else {
                String::new()
            };
            say(&format!(
                "fuzz {name}: {} seeds, {} inputs in {secs:.1} s ({:.0}/s), slowest {:.0} ms, seed {:#x}: ok{known}",
                stats.seeds,
                stats.execs,
                stats.execs as f64 / secs.max(0.001),
                stats.slowest.as_secs_f64() * 1000.0,
                opts.seed
            ));
        }
        Err(failure) => {
            let suffix = match failure.fault {
                Fault::Panic(_) => format!("{}", failure.exec),
                Fault::Hang(_) => format!("{}-hang", failure.exec),
            };
            let saved = save(&opts, name, &suffix, &failure.input);
            let text = describe(target, &opts, &failure, &saved);
            say(&text);
            panic!("{text}");
        }
    }
}

/// Waits for the worker, checking that no input runs past the limit.
fn watch(
    rx: &mpsc::Receiver<Result<Stats, Failure>>,
    current: &Mutex<Current>,
    opts: &Options,
) -> Result<Stats, Failure> {
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return result,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure {
                    fault: Fault::Panic("the fuzzing thread ended without a result".into()),
                    input: Vec::new(),
                    exec: 0,
                    shrunk_from: None,
                });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some((since, exec, input)) = &lock(current).input {
            let ran = since.elapsed();
            if ran > opts.per_input {
                // The worker cannot be stopped; it ends with the process.
                return Err(Failure {
                    fault: Fault::Hang(ran),
                    input: input.to_vec(),
                    exec: *exec,
                    shrunk_from: None,
                });
            }
        }
    }
}

//! Saves the input a target was running when the process aborts: a stack
//! overflow or a failed allocation does not unwind, so `catch_unwind` never
//! sees it. The SIGABRT handler writes the aborting thread's current input
//! to the file named at registration, with async-signal-safe calls only
//! (open, write, close on memory prepared beforehand).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicUsize, Ordering::SeqCst};

/// One fuzzing thread: its id and the input it runs now.
pub struct Slot {
    tid: AtomicI64,
    busy: AtomicBool,
    input: AtomicPtr<u8>,
    len: AtomicUsize,
    path: CString,
    note: Vec<u8>,
}

const SLOTS: usize = 64;
static REGISTRY: [AtomicPtr<Slot>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
static INSTALL: Once = Once::new();

fn thread_id() -> i64 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// Registers the calling thread: if the process aborts while it runs an
/// input, the input goes to `path` and `note` to stderr. The slot lives
/// for the rest of the process (a few per test run).
pub fn register(path: &Path, note: String) -> &'static Slot {
    INSTALL.call_once(|| {
        // SAFETY: installs a handler that only reads prepared memory and
        // makes async-signal-safe calls.
        unsafe { libc::signal(libc::SIGABRT, on_abort as *const () as libc::sighandler_t) };
    });
    let slot: &'static Slot = Box::leak(Box::new(Slot {
        tid: AtomicI64::new(thread_id()),
        busy: AtomicBool::new(false),
        input: AtomicPtr::new(std::ptr::null_mut()),
        len: AtomicUsize::new(0),
        path: CString::new(path.as_os_str().as_bytes()).unwrap_or_default(),
        note: note.into_bytes(),
    }));
    let ptr = slot as *const Slot as *mut Slot;
    for entry in &REGISTRY {
        if entry
            .compare_exchange(std::ptr::null_mut(), ptr, SeqCst, SeqCst)
            .is_ok()
        {
            break;
        }
    }
    slot
}

impl Slot {
    /// `input` is about to run; it must stay alive until [`Slot::idle`].
    pub fn running(&self, input: &[u8]) {
        self.busy.store(false, SeqCst);
        self.input.store(input.as_ptr() as *mut u8, SeqCst);
        self.len.store(input.len(), SeqCst);
        self.busy.store(true, SeqCst);
    }

    pub fn idle(&self) {
        self.busy.store(false, SeqCst);
    }
}

fn write_all(fd: libc::c_int, mut ptr: *const u8, mut len: usize) {
    while len > 0 {
        // SAFETY: `ptr..ptr+len` is the prepared buffer (see `Slot::running`).
        let n = unsafe { libc::write(fd, ptr.cast(), len) };
        if n <= 0 {
            return;
        }
        let n = n as usize;
        // SAFETY: n <= len bytes were written from this buffer.
        ptr = unsafe { ptr.add(n) };
        len -= n;
    }
}

extern "C" fn on_abort(_signal: libc::c_int) {
    let tid = thread_id();
    for entry in &REGISTRY {
        let p = entry.load(SeqCst);
        if p.is_null() {
            continue;
        }
        // SAFETY: registered slots are leaked, never freed.
        let slot = unsafe { &*p };
        if slot.tid.load(SeqCst) != tid || !slot.busy.load(SeqCst) {
            continue;
        }
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path prepared at registration.
        let fd = unsafe { libc::open(slot.path.as_ptr(), flags, 0o644) };
        if fd >= 0 {
            write_all(fd, slot.input.load(SeqCst), slot.len.load(SeqCst));
            // SAFETY: fd was opened above.
            unsafe { libc::close(fd) };
        }
        write_all(2, slot.note.as_ptr(), slot.note.len());
    }
    // Returning lets abort() restore the default action and end the process.
}

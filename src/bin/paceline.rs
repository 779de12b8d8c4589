fn main() -> std::process::ExitCode {
    // A CLI piped into `head` should end quietly, as other Unix tools do,
    // not panic on the closed pipe: restore the default SIGPIPE action.
    // SAFETY: called before any thread exists; only changes a disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Agents call crm_attribute/crm_master/... which are symlinks to this binary.
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = args
        .first()
        .and_then(|a0| paceline::shims::dispatch(a0, &args[1..]))
    {
        return std::process::ExitCode::from(code);
    }
    paceline::cli::main()
}

fn main() -> std::process::ExitCode {
    // The agents' shims (crm_attribute, crm_master, ...) may be symlinks to
    // this binary when no `paceline` CLI is found next to it: answer them
    // as the CLI does rather than parse their options as the daemon's.
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = args
        .first()
        .and_then(|a0| paceline::shims::dispatch(a0, &args[1..]))
    {
        return std::process::ExitCode::from(code);
    }
    paceline::daemon::main()
}

fn main() -> std::process::ExitCode {
    // Agents call crm_attribute/crm_master/... which are symlinks to this binary.
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = args
        .first()
        .and_then(|a0| paceline::executor::shims::dispatch(a0, &args[1..]))
    {
        return std::process::ExitCode::from(code);
    }
    paceline::cli::main()
}

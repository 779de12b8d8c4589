fn main() -> std::process::ExitCode {
    paceline::daemon::main()
}

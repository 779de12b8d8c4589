fn main() -> std::process::ExitCode {
    paceline::cli::main()
}

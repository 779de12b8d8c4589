//! `cargo run --example gen-docs -- OUT`: writes paceline's man pages and
//! shell completions under OUT (see `docs.rs`). An example rather than a
//! build script or a subcommand: it needs the library's clap definitions
//! (a build script runs before the library exists), and clap_mangen and
//! clap_complete stay dev-dependencies, out of the shipped binaries.

mod docs;

fn main() -> std::process::ExitCode {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: gen-docs OUT_DIR");
        return std::process::ExitCode::from(2);
    };
    match docs::generate(std::path::Path::new(&out)) {
        Ok(generated) => {
            println!(
                "gen-docs: {} man pages and {} completion scripts in {}",
                generated.man_pages.len(),
                generated.completions.len(),
                std::path::Path::new(&out).display()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

use clap::Parser;

fn main() {
    let cli = provenance::cli::Cli::parse();
    match provenance::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // A closed pipe (`provenance text … | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                std::process::exit(0);
            }
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

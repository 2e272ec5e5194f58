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
            // Each cause once: most errors already print their source
            // ("FILE: No space left on device"), which the chain repeats.
            let mut message = e.to_string();
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}

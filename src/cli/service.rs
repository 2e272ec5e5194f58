//! The command line of the service: `serve` and `keys`.

use crate::cli::args::{DEFAULT_INDEX, EmbeddingArgs};
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The index folder (made by `import`); a folder with no index is refused.
    #[arg(long, default_value = DEFAULT_INDEX)]
    pub index: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// API keys (made with `provenance keys add`); default INDEX/keys.json.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Audit log (JSON lines, appended); default INDEX/audit.jsonl.
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Keep every searched photo in this folder (by default only its
    /// SHA-256 is logged).
    #[arg(long, value_name = "DIR")]
    pub audit_photos: Option<PathBuf>,
    /// Largest upload, in MiB.
    #[arg(long, default_value_t = 32)]
    pub max_upload_mb: usize,
    /// Whole-request deadline, in seconds (slow uploads included).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Photo searches computed at once (default: one per core).
    #[arg(long)]
    pub concurrent_searches: Option<usize>,
    /// Seconds a client has to send its request headers.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Log lines on stderr: `text` for people, `json` (one object a line)
    /// for a log collector. Levels follow `RUST_LOG` (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Other agencies' servers to ask with every search:
    /// `[{"name", "url", "key" | "key_file"}]` (federated search); with
    /// `"send": "descriptors"` a peer is sent the photo's descriptors, not
    /// the photo.
    #[arg(long, value_name = "PEERS.json")]
    pub peers: Option<PathBuf>,
    /// Seconds a peer may take before the search answers without it.
    #[arg(long, default_value_t = 3)]
    pub peer_timeout: u64,
    /// `--index` is a folder of snapshots (`provenance snapshot --into`):
    /// serve the one its CURRENT names and switch, once it verifies, to
    /// each newer one; a replica takes no writes.
    #[arg(long)]
    pub follow: bool,
    /// POST every retro-alert (JSON, as `GET /v1/alerts` lists it) to
    /// this http:// URL, retried until it answers 2xx.
    #[arg(long, value_name = "URL")]
    pub alert_webhook: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The server's log: every 5xx with its cause and request id, reloads,
/// refusals; to stderr, where systemd and Kubernetes collect it.
fn init_log(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a key; its secret is printed once on stdout, only its hash kept.
    Add {
        #[arg(long)]
        keys: PathBuf,
        /// officer (search), expert (+ read records and the audit log),
        /// curator (+ write records) or admin.
        #[arg(long)]
        role: String,
        /// Who holds it (a person, a border post, a system); shown in the audit log.
        #[arg(long)]
        name: String,
        /// Requests per minute (0: unlimited); default by role.
        #[arg(long)]
        rate: Option<u32>,
        /// Keep every photo this key searches as a sighting, so that a
        /// record reported later raises an alert.
        #[arg(long)]
        keep_searches: bool,
    },
    /// The keys in a file (names, roles, rates; never secrets).
    List {
        #[arg(long)]
        keys: PathBuf,
    },
}

pub fn serve(a: ServeArgs, emb: &EmbeddingArgs) -> Result<i32> {
    init_log(a.log_format);
    let mut opts = crate::server::ServeOptions::for_index(&a.index);
    if let Some(k) = a.keys {
        opts.keys = k;
    }
    if let Some(p) = a.audit {
        opts.audit = p;
    }
    opts.audit_photos = a.audit_photos;
    if let Some(url) = a.alert_webhook {
        if !url.starts_with("http://") {
            anyhow::bail!(
                "--alert-webhook {url:?}: an http:// URL (for https, a local proxy that adds TLS)"
            );
        }
        opts.alert_webhook = Some(url);
    }
    opts.max_upload_bytes = a.max_upload_mb.max(1) << 20;
    opts.request_timeout = std::time::Duration::from_secs(a.timeout.max(1));
    opts.header_timeout = std::time::Duration::from_secs(a.header_timeout.max(1));
    if let Some(n) = a.concurrent_searches {
        opts.concurrent_searches = n.max(1);
    }
    if let Some(file) = &a.peers {
        opts.peers = crate::server::peers::load(file)?;
    }
    opts.peer_timeout = std::time::Duration::from_secs(a.peer_timeout.max(1));
    if a.follow {
        if opts.alert_webhook.is_some() {
            anyhow::bail!("--alert-webhook belongs on the primary, not on a --follow replica");
        }
        let (name, engine) = crate::server::follow_open(&a.index, emb.embedder()?)?;
        opts.follow = Some(a.index.clone());
        // A replica's keys and audit live beside the snapshots, not in one.
        crate::server::serve_snapshot(engine, Some(name), a.addr, opts)?;
        return Ok(0);
    }
    // A mistyped folder must not become an empty database that answers
    // every officer "no match".
    let engine = crate::cli::args::open_existing(&a.index, emb)?;
    crate::server::serve(engine, a.addr, opts)?;
    Ok(0)
}

pub fn keys(action: KeysCommand) -> Result<i32> {
    use crate::server::keys::{KeyFile, Role};
    match action {
        KeysCommand::Add {
            keys,
            role,
            name,
            rate,
            keep_searches,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: officer, expert, curator or admin")
            })?;
            let (secret, entry) = KeyFile::add(&keys, &name, role, rate, keep_searches)?;
            println!("{secret}");
            eprintln!(
                "key {:?} ({}, {} requests/min) added to {}; the secret above is shown only once",
                entry.name,
                entry.role.as_str(),
                entry.rate_per_minute,
                keys.display()
            );
        }
        KeysCommand::List { keys } => {
            for k in KeyFile::load(&keys)?.keys {
                println!(
                    "{}\t{}\t{}/min\tcreated {}",
                    k.name,
                    k.role.as_str(),
                    k.rate_per_minute,
                    k.created
                );
            }
        }
    }
    Ok(0)
}

/// Records a change made from the command line in the index's audit log
/// (`INDEX/audit.jsonl`, the server's default), under the local user's
/// name: imports change what officers' searches find, so they belong in
/// the same trail as the API's writes. A failure to log is reported, not
/// fatal: the change itself is already committed.
pub fn audit_local_change(index: &std::path::Path, action: &str, request: serde_json::Value) {
    use crate::server::audit::{AuditEntry, AuditLog};
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let entry = AuditEntry::new(format!("cli:{user}"), "local", action, None, request);
    let path = index.join("audit.jsonl");
    if let Err(e) = AuditLog::open(&path, None).and_then(|log| log.append(&entry)) {
        eprintln!(
            "warning: {}: could not append to the audit log: {e}",
            path.display()
        );
    }
}

//! The `fitz` command: argument parsing and dispatch only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use fitz_host::commands;

// Requests allocate many short-lived, medium-sized blocks (instance state, values, JSON);
// mimalloc serves them with less contention and fragmentation than glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "fitz", version, about = "Fitz on WebAssembly: check, build and run Fitz programs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    Wasm,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    Wasm,
    Ir,
}

#[derive(Subcommand)]
enum AppsCommand {
    /// List the host's apps.
    List,
    /// Show one app: versions, routes, limits, secrets (names only), errors.
    Inspect { app: String },
    /// Serve the previous version again.
    Rollback { app: String },
    /// Stop serving an app. Its data, versions and secrets are kept under its namespace,
    /// restorable; the next app of that name gets a namespace of its own.
    Remove {
        app: String,
        /// Delete its data, versions and secrets too.
        #[arg(long)]
        purge: bool,
    },
    /// Serve a removed app again, with its data (the newest kept namespace of that name).
    Restore {
        app: String,
        /// Which kept namespace (see `fitz apps removed`).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// List removed apps and their namespaces.
    Removed,
    /// Delete a removed app's kept namespace: its data, versions and secrets.
    Purge { namespace: String },
    /// Write an app's versions, secrets and data to one file, to import on another host; its
    /// secrets are sealed under a fresh export key, printed once on stderr.
    Export {
        app: String,
        /// Where to write it (default: APP.fitzapp).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Create an app from an export (its key in FITZ_EXPORT_KEY).
    Import {
        file: PathBuf,
        /// Under another name (default: the exported app's).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Set a secret; the value is read from stdin.
    Set { app: String, name: String },
    /// Unset a secret.
    Unset { app: String, name: String },
    /// Seal every stored secret value and image again under the host's current key.
    RotateKey,
}

#[derive(Subcommand)]
enum CronCommand {
    /// List the jobs with their next three runs (UTC).
    List {
        /// The app (`.fitz` source or built `.wasm`).
        app: PathBuf,
    },
    /// Run one job now, against the app's database.
    Run { app: PathBuf, job: String },
}

#[derive(clap::Args)]
struct Listen {
    /// Port to listen on (default: FITZ_PORT, else 3000).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (default: FITZ_HOST, else 127.0.0.1).
    #[arg(long)]
    host: Option<std::net::IpAddr>,
}

impl Listen {
    fn options(self, watch: Option<std::path::PathBuf>) -> commands::serve::ServeOptions {
        commands::serve::ServeOptions { host: self.host, port: self.port, watch }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check programs and report every problem; exit 1 if any has errors.
    Check {
        /// `.fitz` files (each with the modules it imports) or project directories (`fitz.toml`);
        /// the project in the current directory by default.
        #[arg(default_value = ".")]
        files: Vec<PathBuf>,
        /// `json` prints one machine-readable document for editors and CI.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compile a program to a WebAssembly module.
    Build {
        /// A `.fitz` file or a project directory (`fitz.toml`; the current one by default).
        #[arg(default_value = ".")]
        file: PathBuf,
        #[arg(long, value_enum, default_value = "wasm")]
        target: Target,
        /// Where to write the module (default: next to the source, `.wasm`).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// `ir` prints the lowered program instead of writing the module.
        #[arg(long, value_enum, default_value = "wasm")]
        emit: Emit,
    },
    /// Run a multi-tenant host: apps deployed through its operator API, served at
    /// <app>.<base-domain>. Needs FITZ_OPERATOR_TOKEN.
    Host {
        #[command(flatten)]
        listen: Listen,
        /// Apps are served at <app>.<base-domain> (default: FITZ_BASE_DOMAIN, else localhost).
        #[arg(long)]
        base_domain: Option<String>,
        /// Where SQLite state lives when DATABASE_URL is not PostgreSQL (default: FITZ_DATA, else fitz-data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Serve HTTPS with this certificate chain (PEM; default: FITZ_TLS_CERT).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM; default: FITZ_TLS_KEY).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Compile an app and deploy it to a host (token: FITZ_OPERATOR_TOKEN).
    Deploy {
        /// A `.fitz` file or a project directory (compiled here), or a built `.wasm`.
        file: PathBuf,
        /// The host (default: FITZ_HOST_URL, else http://127.0.0.1:3000).
        #[arg(long)]
        to: Option<String>,
        /// The app's name (default: the file's name, or the project's).
        #[arg(long)]
        name: Option<String>,
    },
    /// Manage the apps of a host.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
        #[arg(long, global = true)]
        to: Option<String>,
    },
    /// Set or unset an app's secrets on a host.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
        #[arg(long, global = true)]
        to: Option<String>,
    },
    /// Operate an app's @cron jobs.
    Cron {
        #[command(subcommand)]
        command: CronCommand,
    },
    /// Print the OpenAPI 3.1 document of an app (the one it serves at /openapi.json).
    Openapi { file: PathBuf },
    /// Compile and run a program; an app with routes is served over HTTP.
    Run {
        /// A `.fitz` file, a project directory (`fitz.toml`; the current one by default), or a
        /// built `.wasm`.
        #[arg(default_value = ".")]
        file: PathBuf,
        #[command(flatten)]
        listen: Listen,
        /// Recompile on save and swap the new version in without a restart.
        #[arg(long)]
        watch: bool,
        /// An `@command` program's command line: `fitz run cli.fitz -- greet Ada --loud`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The language server, over stdin and stdout (for editors: see editors/vscode).
    Lsp,
    /// Run the `@test` functions of programs, each against a fresh database of its app.
    Test {
        /// `.fitz` files, or folders: each `*_test.fitz` under them (or the project, `fitz.toml`).
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Only the tests whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Test against this PostgreSQL database (a fresh schema per test) instead of SQLite.
        #[arg(long)]
        db: Option<String>,
        /// Test again whenever a `.fitz` file under the paths changes.
        #[arg(long)]
        watch: bool,
    },
    /// Lay out `.fitz` files canonically, comments kept (`--check`: change nothing, exit 1 if
    /// a file would change).
    Fmt {
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        #[arg(long)]
        check: bool,
    },
    /// Create a project: `fitz new NAME` (a JSON API) or `--template auth` (accounts, JWTs, roles).
    New {
        /// The project's folder; its last part names the project.
        path: PathBuf,
        #[arg(long, value_enum, default_value = "api")]
        template: commands::new::Template,
    },
    /// Serve an app built with `fitz build`.
    Serve {
        /// The `.wasm` module (its `.env` and SQLite file live next to it).
        file: PathBuf,
        #[command(flatten)]
        listen: Listen,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exits: 0 for --help/--version, 2 for usage errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Lsp => commands::lsp::run(),
        Command::Test { paths, filter, db, watch } => commands::test::run(commands::test::TestOptions { paths, filter, db, watch }),
        Command::Check { files, format } => commands::check::check(&files, matches!(format, Format::Json)),
        Command::Build { file, target: Target::Wasm, out, emit } => commands::build::build(&file, out, matches!(emit, Emit::Ir)),
        Command::Host { listen, base_domain, data, tls_cert, tls_key } => {
            commands::host::run(commands::host::HostOptions { host: listen.host, port: listen.port, base_domain, data, tls_cert, tls_key })
        }
        Command::Deploy { file, to, name } => commands::remote::deploy(&file, to, name),
        Command::Apps { command, to } => match command {
            AppsCommand::List => commands::remote::apps_list(to),
            AppsCommand::Inspect { app } => commands::remote::apps_inspect(&app, to),
            AppsCommand::Rollback { app } => commands::remote::apps_rollback(&app, to),
            AppsCommand::Remove { app, purge } => commands::remote::apps_remove(&app, purge, to),
            AppsCommand::Restore { app, namespace } => commands::remote::apps_restore(&app, namespace, to),
            AppsCommand::Removed => commands::remote::apps_removed(to),
            AppsCommand::Purge { namespace } => commands::remote::apps_purge(&namespace, to),
            AppsCommand::Export { app, out } => commands::remote::apps_export(&app, out, to),
            AppsCommand::Import { file, name } => commands::remote::apps_import(&file, name, to),
        },
        Command::Secrets { command, to } => match command {
            SecretsCommand::Set { app, name } => commands::remote::secrets_set(&app, &name, to),
            SecretsCommand::Unset { app, name } => commands::remote::secrets_unset(&app, &name, to),
            SecretsCommand::RotateKey => commands::remote::secrets_rotate_key(to),
        },
        Command::Cron { command: CronCommand::List { app } } => commands::cron::list(&app),
        Command::Cron { command: CronCommand::Run { app, job } } => commands::cron::run(&app, &job),
        Command::Openapi { file } => commands::openapi::openapi(&file),
        Command::Run { file, listen, watch, args } => {
            let watch = watch.then(|| file.clone());
            commands::run::run(&file, listen.options(watch), &args)
        }
        Command::Fmt { paths, check } => commands::fmt::fmt(&paths, check),
        Command::New { path, template } => commands::new::new(&path, template),
        Command::Serve { file, listen } => commands::serve::serve_file(&file, listen.options(None)),
    };
    ExitCode::from(code)
}

//! `recert-local`: serve the whole API on 127.0.0.1 over the embedded store, or mint a dev token.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "recert-local",
    about = "Recert on one machine: the whole API over an embedded SQLite store",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "RECERT_ADDR", default_value = "127.0.0.1:3000")]
    addr: std::net::SocketAddr,
    /// The SQLite file (created with its schema on first start).
    #[arg(long, env = "RECERT_DB_PATH", default_value = ".recert/recert.db")]
    db: PathBuf,
    /// A rules file replacing the compiled-in default rules.
    #[arg(long, env = "RECERT_RULES_PATH")]
    rules: Option<PathBuf>,
    /// Run as of this date (YYYY-MM-DD) to rehearse a lifecycle; local builds only.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Print a development token signed with the local secret.
    Token {
        /// certificant, provider, reviewer, auditor, committee or admin.
        #[arg(long, default_value = "admin")]
        role: recert_api::Role,
        /// The subject; for a certificant, their certificant id.
        #[arg(long, default_value = "dev-admin")]
        sub: String,
        #[arg(long, default_value_t = 720)]
        ttl_minutes: i64,
    },
    /// Print the OpenAPI document (what `openapi/openapi.json` must contain).
    Openapi,
    /// Print each function's routes as JSON (`{"<crate>": [["GET", "/path"], ...]}`): what the
    /// template's HTTP events must route to it (infra/checks).
    Routes,
    /// Pay a submission as the payment processor would: a signed webhook to the local server.
    Pay {
        /// The submission's order number.
        order: String,
        /// The amount in minor units (12500 = 125.00).
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The local server.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        api: String,
    },
    /// The random audit's public checks.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run a scheduled job for a date (default today), then deliver its mail to the local mailbox.
    Job {
        /// The job: window-opens, lifecycle, audit-draw or audit-deadlines.
        name: String,
        /// Rehearse: run for this date (YYYY-MM-DD) with the clock set to it. The Lambdas never
        /// do: they run on the real clock, and refuse a draw for another day than the scheduler's.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The SQLite file.
        #[arg(long, env = "RECERT_DB_PATH", default_value = ".recert/recert.db")]
        db: PathBuf,
        /// A rules file replacing the compiled-in default rules.
        #[arg(long, env = "RECERT_RULES_PATH")]
        rules: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check a period's log (YYYY-MM) as an outsider would: against the commitment you recorded
    /// before it started and the copies you saved while it ran (docs/audit.md).
    Verify {
        period: String,
        /// The revealed document (`audit document`, or `verify-audit-draw.py fetch`); default:
        /// the period as the store holds it.
        #[arg(long)]
        document: Option<PathBuf>,
        /// A copy of the period's document saved earlier (repeat for several).
        #[arg(long)]
        earlier: Vec<PathBuf>,
        /// The commitment you recorded before the period started.
        #[arg(long)]
        commitment: Option<String>,
        /// The published rules file (default: the compiled-in rules).
        #[arg(long, env = "RECERT_RULES_PATH")]
        rules: Option<PathBuf>,
        /// The SQLite file.
        #[arg(long, env = "RECERT_DB_PATH", default_value = ".recert/recert.db")]
        db: PathBuf,
    },
    /// Print a period's whole public log as one JSON document: a copy to keep.
    Document {
        period: String,
        /// The SQLite file.
        #[arg(long, env = "RECERT_DB_PATH", default_value = ".recert/recert.db")]
        db: PathBuf,
    },
    /// Rotate the periods committed under the old scheme (their commitment was the sampler's
    /// key): retire those drawn in or ended (their seed is revealed), re-commit the others.
    Rotate {
        /// The first period to look at (YYYY-MM; default: three years back).
        #[arg(long)]
        from: Option<String>,
        /// The SQLite file.
        #[arg(long, env = "RECERT_DB_PATH", default_value = ".recert/recert.db")]
        db: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    recert_api::lambda::init_tracing(false);
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(a) => {
            recert_local::serve::run(a.addr, &a.db, a.rules.as_deref(), a.today).await
        }
        Command::Pay {
            order,
            amount,
            currency,
            api,
        } => recert_local::pay::run(&api, &order, amount, &currency),
        Command::Job {
            name,
            date,
            db,
            rules,
        } => recert_local::jobs::run(&name, date, &db, rules.as_deref()).await,
        Command::Audit { command } => match command {
            AuditCommand::Verify {
                period,
                document,
                earlier,
                commitment,
                rules,
                db,
            } => {
                let inputs = recert_local::audit::VerifyInputs {
                    document,
                    earlier,
                    commitment,
                    rules,
                };
                recert_local::audit::verify(&period, &db, &inputs).await
            }
            AuditCommand::Document { period, db } => {
                recert_local::audit::document(&period, &db).await
            }
            AuditCommand::Rotate { from, db } => {
                recert_local::audit::rotate(from.as_deref(), &db).await
            }
        },
        Command::Token {
            role,
            sub,
            ttl_minutes,
        } => recert_local::serve::print_token(role, &sub, ttl_minutes),
        Command::Openapi => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", recert_local::openapi::document());
            }
            Ok(())
        }
        Command::Routes => {
            #[allow(clippy::print_stdout)]
            {
                println!("{}", recert_local::openapi::routes_by_function());
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recert-local: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! `wikiscriptsync`: the command-line face of WikiScriptSync.
//!
//! Thin by design: it parses arguments, reads configuration and calls into
//! `wikiscriptsync-core`; the exit code says what happened.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret as _;
use wikiscriptsync_core::vault::Vault;

/// Keep gadget and user-script pages in step with the Git repositories they are developed in.
#[derive(Debug, Parser)]
#[command(name = "wikiscriptsync", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a new key for CREDENTIAL_ENCRYPTION_KEY.
    ///
    /// Stored BotPasswords are encrypted with it (Fernet). To rotate, put the new key first and
    /// keep the old one after a comma until `rotate-credentials` has re-encrypted everything.
    GenerateKey,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::GenerateKey => println!("{}", Vault::generate_key().expose_secret()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

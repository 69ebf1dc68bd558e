//! Rebuilds the server when a migration is added: `sqlx::migrate!` embeds the migrations at
//! compile time, and a cached build would otherwise run with the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

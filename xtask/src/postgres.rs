//! `cargo xtask postgres`, and the cluster `cargo xtask test` lends the Rust
//! tests: the throwaway-cluster code itself is in `warmlead-testpg`.

pub use warmlead_testpg::{TestPostgres, APT_PACKAGE, URL_ENV};

/// `cargo xtask postgres`: a throwaway cluster for trying the server by hand;
/// stops when Enter is pressed.
pub fn run() -> Result<(), String> {
    let pg = TestPostgres::start()?;
    println!("PostgreSQL is up: {}", pg.url());
    println!("press Enter to stop it and remove its data");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(pg);
    Ok(())
}

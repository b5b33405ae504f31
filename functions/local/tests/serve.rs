//! The run command as a user runs it: start the binary, read where it listens, mint tokens with
//! the same binary, use the API, stop it with SIGTERM and see it exit cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_recert-local");

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(dir.join("recert.db"))
        .env("RECERT_DATA_DIR", dir)
        .env_remove("JWT_HS256_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start recert-local");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, base }
}

fn token(dir: &Path, role: &str, sub: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "--role", role, "--sub", sub])
        .env("RECERT_DATA_DIR", dir)
        .env_remove("JWT_HS256_SECRET")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn the_local_server_serves_the_api_and_stops_gracefully() {
    let dir = std::env::temp_dir().join(format!("recert-local-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = start(&dir);
    let http = agent();

    let health: serde_json::Value = http
        .get(format!("{}/health", server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(health["status"], "ok");

    let admin = token(&dir, "admin", "dev-admin");
    let mut r = http
        .post(format!("{}/certificants", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .send_json(serde_json::json!({"email": "local@example.org", "full_name": "Local", "membership": "member"}))
        .unwrap();
    assert_eq!(r.status(), 201);
    let certificant: serde_json::Value = r.body_mut().read_json().unwrap();
    let id = certificant["id"].as_str().unwrap();
    let mine = token(&dir, "certificant", id);
    let r = http
        .get(format!("{}/certificants/{id}/certifications", server.base))
        .header("authorization", format!("Bearer {mine}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{}/certificants/{id}", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status(), 401);

    // SIGTERM: finish and exit 0.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // Data survives a restart on the same file.
    let server = start(&dir);
    let r = http
        .get(format!("{}/certificants/{id}", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

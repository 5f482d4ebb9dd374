//! The web app in a real browser against `callisto serve` as a person starts
//! it: the built app (web/dist, made by scripts/build-web.sh), the demo
//! company, the API and the media node on free 127.0.0.1 ports, and a sipp
//! carrier as the company's trunk that answers the agent's call. The walk
//! itself is tests/browser/webapp.mjs (playwright-core driving Debian's
//! chromium); its screenshots land in the target folder's tmp/web-screenshots.

#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process (`callisto serve`, sipp), stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_person_logs_in_searches_calls_from_a_work_list_switches_language_and_signs_up() {
    let web = root().join("web/dist");
    assert!(
        web.join("index.html").is_file(),
        "the web app is not built: run scripts/build-web.sh (scripts/test.sh does)"
    );
    let harness = root().join("tests/browser");
    assert!(
        harness.join("node_modules/playwright-core").is_dir()
            && Path::new("/usr/bin/chromium").is_file(),
        "the browser harness is not installed: run scripts/install-browser-deps.sh"
    );

    assert!(
        Command::new("sipp").arg("-v").output().is_ok(),
        "sipp is not installed: run scripts/install-system-deps.sh test"
    );

    let data = tempfile::tempdir().unwrap();
    // The company's carrier: sipp answers one call (its built-in UAS) and
    // hangs up when the agent does.
    let carrier = udp_port();
    let _carrier = Running(
        Command::new("sipp")
            .current_dir(data.path())
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &carrier.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &udp_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "120s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = tcp_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(data.path().join("serve.log")).unwrap();
    let _serve = Running(
        Command::new(env!("CARGO_BIN_EXE_callisto"))
            .current_dir(root())
            .args(["serve", "--data"])
            .arg(data.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--sip", &format!("127.0.0.1:{}", udp_port())])
            .args(["--sip-ws", &format!("127.0.0.1:{}", tcp_port())])
            .args(["--sip-wss", &format!("127.0.0.1:{}", tcp_port())])
            .arg("--web")
            .arg(&web)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "callisto serve did not start: {}",
            serve_log(data.path())
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    let out = Command::new("node")
        .arg(harness.join("webapp.mjs"))
        .args(["--url", &url, "--outbox"])
        .arg(data.path().join("data/outbox"))
        .arg("--shots")
        .arg(&shots)
        .args(["--carrier", &carrier.to_string()])
        .env("TMPDIR", data.path())
        .stdin(Stdio::null())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from the browser walk: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        out.status.success() && report["ok"] == true,
        "step {:?} failed: {} (screenshots in {}; server log: {})",
        report["step"],
        report["error"],
        shots.display(),
        serve_log(data.path())
    );
    assert!(
        report["call"]
            .as_str()
            .is_some_and(|c| c.starts_with("answered")),
        "the call from the card: {}",
        report["call"]
    );
    println!(
        "web app load: {}; call: {} (screenshots in {})",
        report["load"],
        report["call"],
        shots.display()
    );
}

fn serve_log(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

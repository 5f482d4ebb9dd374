//! What every browser test shares: `callisto serve` as a person starts it
//! (the built app in web/dist, the demo company, the API and the media node
//! on free 127.0.0.1 ports, a fresh data folder), and a walk script under
//! tests/browser run by node, whose last stdout line is a JSON report.

#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process (`callisto serve`, sipp), stopped when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Fails the test with what to run when the app or the browser is missing.
pub fn assert_browser_ready() {
    assert!(
        root().join("web/dist/index.html").is_file(),
        "the web app is not built: run scripts/build-web.sh (scripts/test.sh does)"
    );
    assert!(
        root()
            .join("tests/browser/node_modules/playwright-core")
            .is_dir()
            && Path::new("/usr/bin/chromium").is_file(),
        "the browser harness is not installed: run scripts/install-browser-deps.sh"
    );
}

/// `callisto serve` on a fresh data folder, stopped when dropped.
pub struct Served {
    pub url: String,
    /// The media node's SIP port (UDP) on 127.0.0.1.
    pub sip: u16,
    pub data: tempfile::TempDir,
    _serve: Running,
}

impl Served {
    pub fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = tcp_port();
        let url = format!("http://127.0.0.1:{port}");
        let sip = udp_port();
        let log = std::fs::File::create(data.path().join("serve.log")).unwrap();
        let serve = Running(
            Command::new(env!("CARGO_BIN_EXE_callisto"))
                .current_dir(root())
                .args(["serve", "--data"])
                .arg(data.path().join("data"))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--sip", &format!("127.0.0.1:{sip}")])
                .args(["--sip-ws", &format!("127.0.0.1:{}", tcp_port())])
                .args(["--sip-wss", &format!("127.0.0.1:{}", tcp_port())])
                .arg("--web")
                .arg(root().join("web/dist"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let served = Served {
            url,
            sip,
            data,
            _serve: serve,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "callisto serve did not start: {}",
                served.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        served
    }

    /// The folder where the demo mailer drops outgoing mail.
    pub fn outbox(&self) -> PathBuf {
        self.data.path().join("data/outbox")
    }

    /// The last lines of the server's log, for a failure message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.data.path().join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Runs tests/browser/`script` against this server with `--url`,
    /// `--outbox` and `--shots` (the target folder's tmp/`shots`) plus `args`;
    /// answers its JSON report, failing the test with the failed step, the
    /// screenshots' folder and the server's log unless the walk passed.
    pub fn walk(&self, script: &str, shots: &str, args: &[OsString]) -> serde_json::Value {
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(shots);
        let out = Command::new("node")
            .arg(root().join("tests/browser").join(script))
            .args(["--url", &self.url, "--outbox"])
            .arg(self.outbox())
            .arg("--shots")
            .arg(&shots)
            .args(args)
            .env("TMPDIR", self.data.path())
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
                    "no report from the browser walk {script}: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        assert!(
            out.status.success() && report["ok"] == true,
            "{script}: step {:?} failed: {} (screenshots in {}; server log: {})",
            report["step"],
            report["error"],
            shots.display(),
            self.log_tail()
        );
        report
    }
}

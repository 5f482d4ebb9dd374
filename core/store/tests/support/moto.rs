//! A `moto_server` (PyPI `moto[server]`) for tests of the AWS backend:
//! DynamoDB, S3 and SQS on a free 127.0.0.1 port.
//!
//! ```ignore
//! #[path = "support/moto.rs"]
//! mod moto;
//! let moto = moto::Moto::start();            // killed when dropped
//! let cfg = moto.config("items");            // fresh table/bucket/queue names
//! callisto_store::aws::create_resources(&cfg).await?;
//! let stores = callisto_store::aws::connect(&cfg).await?;
//! ```
//!
//! Nothing global is touched: credentials are in the returned config, not in
//! the environment. The server runs under a small `sh` watchdog that stops it
//! when this process closes the watchdog's stdin — on drop, and also when the
//! test process dies without dropping (so [`Moto::shared`] leaks nothing).

#![allow(dead_code)]

use callisto_store::aws::AwsConfig;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts moto in the background (fd 3 keeps the watchdog's real stdin, since
/// an asynchronous list reads /dev/null); on EOF removes the work directory and
/// kills moto (it keeps nothing worth a clean shutdown, and a single-threaded
/// moto takes seconds to honour SIGTERM); exits when moto exits (the log stays
/// if moto died on its own).
const WATCHDOG: &str = r#"exec 3<&0
moto_server -H 127.0.0.1 -p "$1" >"$2/moto.log" 2>&1 3<&- </dev/null &
pid=$!
( read -r _ <&3; rm -rf "$2"; kill -9 "$pid" 2>/dev/null ) &
wait "$pid"
"#;

/// Loaded by moto's Python through `PYTHONPATH` (set for the child only):
/// serves one request at a time. moto's threaded server is not safe for
/// concurrent DynamoDB transactions — a cancelled `TransactWriteItems` rolls
/// back by restoring a copy of the whole table taken when it started, erasing
/// a concurrent transaction's writes (seen as half-written items).
const SITECUSTOMIZE: &str = r#"
try:
    import werkzeug.serving as _serving

    _run_simple = _serving.run_simple

    def _serial_run_simple(*args, **kwargs):
        kwargs["threaded"] = False
        return _run_simple(*args, **kwargs)

    _serving.run_simple = _serial_run_simple
except Exception:
    pass
"#;

/// A running `moto_server`, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    watchdog: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
    dir: PathBuf,
}

impl Moto {
    /// Spawns `moto_server` from `PATH` (serving requests one at a time) and
    /// waits (up to 30 s) until it answers HTTP. Panics with the server's
    /// output if it does not.
    pub fn start() -> Moto {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("callisto-moto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create moto work directory");
        std::fs::write(dir.join("sitecustomize.py"), SITECUSTOMIZE)
            .expect("write sitecustomize.py");
        let python_path = match std::env::var_os("PYTHONPATH") {
            Some(old) if !old.is_empty() => {
                let mut p = dir.clone().into_os_string();
                p.push(":");
                p.push(old);
                p
            }
            _ => dir.clone().into_os_string(),
        };
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "moto-watchdog"])
            .arg(port.to_string())
            .arg(&dir)
            .env("PYTHONPATH", python_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh to run moto_server");
        let stdin = watchdog.stdin.take();
        let mut moto = Moto {
            watchdog,
            stdin,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir,
        };
        moto.wait_ready(SocketAddr::from(([127, 0, 0, 1], port)));
        moto
    }

    /// One server for the whole test binary, started on first use.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A configuration with this server as endpoint, fake static credentials,
    /// region `eu-central-1`, and table, bucket and queue prefix names derived
    /// from `name` and unique within this process (call `create_resources`).
    pub fn config(&self, name: &str) -> AwsConfig {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(24)
            .collect();
        if clean.is_empty() {
            clean.push('x');
        }
        let base = format!("callisto-{clean}-{}-{seq}", std::process::id());
        AwsConfig {
            table: base.clone(),
            bucket: base.clone(),
            queue_prefix: format!("{base}-"),
            endpoint_url: Some(self.endpoint.clone()),
            region: "eu-central-1".to_string(),
            static_credentials: Some(("testing".to_string(), "testing".to_string())),
        }
    }

    fn wait_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if answers_http(addr) {
                return;
            }
            if let Ok(Some(status)) = self.watchdog.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering on {addr}; is `moto[server]` \
                     installed and on PATH? Output:\n{}",
                    self.output()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "moto_server did not answer on {addr} within {STARTUP_TIMEOUT:?}. Output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn output(&self) -> String {
        let log = self.dir.join("moto.log");
        std::fs::read_to_string(&log).unwrap_or_else(|e| format!("({}: {e})", log.display()))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // EOF on the watchdog's stdin stops the server and removes its work
        // directory; the watchdog then exits.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.watchdog.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

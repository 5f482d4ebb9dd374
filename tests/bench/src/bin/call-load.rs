//! Media node calls under load (issue 4), on 127.0.0.1 with real SIP peers:
//!
//! - `setup`: call setup rate through the B2BUA. A sipp agent phone calls out
//!   at fixed rates (each INVITE answers the node's digest challenge), a sipp
//!   carrier behind the trunk answers at once, calls last `-d` 100 ms.
//! - `media`: concurrent bridged G.711 calls with recording. Signalling by the
//!   same sipp peers; the media of every call is played and received by this
//!   bench (one UDP socket per side, 50 packets/s per call each way, a send
//!   time in each payload), so loss and delay are measured per packet.
//! - `latency`: the same with a few calls (10 000 packets each way by
//!   default): the delay the relay adds.
//!
//! The node runs in its own process (`call-load node`, pinned to core 0 with
//! `taskset` unless `--no-pin`), with the embedded store in a temporary
//! folder; its CPU time is read from `/proc/<pid>/stat`. Run the bench itself
//! on the other core (`taskset -c 1 call-load …`) so the peers do not share
//! the node's core. Every sipp has `-m` and `-timeout`, every wait a limit,
//! and the node stops by itself after `--node-max-seconds`.

use anyhow::{Context, anyhow, bail};
use callisto_bench::Summary;
use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{SipCredentials, SipTransport, Trunk, sip_username};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus};
use callisto_node::{Node, NodeConfig};
use callisto_sip::digest::{Algorithm, ha1};
use callisto_store::Repos;
use clap::{Parser, Subcommand};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const AGENT_REGISTER: &str = include_str!("../../sipp/agent_register.xml");
const AGENT_CALLS: &str = include_str!("../../sipp/agent_calls.xml");
const CARRIER_ANSWERS: &str = include_str!("../../sipp/carrier_answers.xml");
/// What the agent dials: a mobile number, sent to the trunk.
const DIALLED: &str = "89123456789";
/// Kernel clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`).
const CLK_TCK: f64 = 100.0;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Do not pin the node to core 0.
    #[arg(long, global = true)]
    no_pin: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every figure with its defaults.
    All,
    /// Call setup rate through the B2BUA.
    Setup {
        /// Calls per second, one run each.
        #[arg(long, value_delimiter = ',', default_values_t = [100, 200, 400, 600])]
        rates: Vec<u32>,
        /// Length of each run (at most 30).
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Concurrent bridged, recorded G.711 calls with media both ways.
    Media {
        /// Concurrent calls, one run each.
        #[arg(long, value_delimiter = ',', default_values_t = [100, 250, 500, 1000])]
        calls: Vec<u32>,
        /// Seconds of media once every call is up (at most 60).
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Calls set up per second before the media starts.
        #[arg(long, default_value_t = 100)]
        ramp_rate: u32,
    },
    /// Delay added by the relay.
    Latency {
        #[arg(long, default_value_t = 10)]
        calls: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u32,
    },
    /// (internal) Runs a node for the other modes: prints `READY <sip> <user>
    /// <password>`, answers `stats` on stdin, stops at EOF or after the limit.
    Node {
        #[arg(long)]
        trunk_port: u16,
        #[arg(long, default_value_t = 900)]
        max_seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pin = !args.no_pin;
    match args.cmd.unwrap_or(Cmd::All) {
        Cmd::Node {
            trunk_port,
            max_seconds,
        } => node_main(trunk_port, max_seconds),
        Cmd::Setup { rates, seconds } => setup_figure(pin, &rates, seconds.clamp(1, 30)),
        Cmd::Media {
            calls,
            seconds,
            ramp_rate,
        } => media_figure(pin, &calls, seconds.clamp(1, 60), ramp_rate.max(1), false),
        Cmd::Latency { calls, seconds } => {
            media_figure(pin, &[calls], seconds.clamp(1, 60), 100, true)
        }
        Cmd::All => {
            setup_figure(pin, &[100, 200, 400, 600], 10)?;
            media_figure(pin, &[100, 250, 500, 1000], 20, 100, false)?;
            media_figure(pin, &[10], 20, 100, true)
        }
    }
}

// ---- the node process -----------------------------------------------------

/// Totals of the relay's "media ended" events and of started calls.
static COUNTERS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
const ENDED: usize = 0;
const STARTED: usize = 1;
const FIELDS: [&str; 5] = ["a_in", "a_out", "b_in", "b_out", "b_dropped_source"];

#[derive(Default)]
struct EventFields {
    message: String,
    values: [u64; 5],
}

impl tracing::field::Visit for EventFields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if let Some(i) = FIELDS.iter().position(|f| *f == field.name()) {
            self.values[i] = value;
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

/// Counts the node's call and media events (the relay logs its packet counts
/// when a call's media ends).
struct MediaCounter;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for MediaCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !event.metadata().target().starts_with("callisto_node") {
            return;
        }
        let mut f = EventFields::default();
        event.record(&mut f);
        match f.message.as_str() {
            "media ended" => {
                COUNTERS[ENDED].fetch_add(1, Ordering::Relaxed);
                for (i, v) in f.values.iter().enumerate() {
                    COUNTERS[2 + i].fetch_add(*v, Ordering::Relaxed);
                }
            }
            "call started" => {
                COUNTERS[STARTED].fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

fn node_main(trunk_port: u16, max_seconds: u64) -> anyhow::Result<()> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(MediaCounter.with_filter(tracing_subscriber::filter::LevelFilter::INFO))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
        )
        .init();
    // Lines from stdin, read by a plain thread (EOF: the bench has gone).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let stores = callisto_store::embedded::open(&dir.path().join("store"))?;
        let repos = Repos::new(stores.items.clone());
        let (t, user, password) = seed_company(&repos).await?;
        repos
            .telephony
            .save_trunk(&t, &trunk(trunk_port), 0)
            .await?;
        let node = Node::start(
            NodeConfig::local(
                "127.0.0.1:0".parse()?,
                dir.path().join("spool"),
                b"bench nonce secret".to_vec(),
            ),
            stores.clone(),
        )
        .await?;
        node.refresh().await?;
        println!("READY {} {user} {password}", node.sip_addr);
        let limit = tokio::time::sleep(Duration::from_secs(max_seconds));
        tokio::pin!(limit);
        loop {
            tokio::select! {
                _ = &mut limit => {
                    eprintln!("node: time limit reached");
                    break;
                }
                line = rx.recv() => match line.as_deref() {
                    Some("stats") => {
                        let up = node.calls().await.map(|c| c.len()).unwrap_or(0);
                        let c: Vec<String> =
                            COUNTERS.iter().map(|c| c.load(Ordering::Relaxed).to_string()).collect();
                        println!("STATS {up} {}", c.join(" "));
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        node.shutdown().await;
        drop(dir);
        anyhow::Ok(())
    })
}

/// Company "acme" with agent ann (extension 101) and her SIP password.
async fn seed_company(repos: &Repos) -> anyhow::Result<(TenantId, String, String)> {
    let t = TenantId::parse("acme").map_err(|e| anyhow!("{e}"))?;
    let u = UserId::parse("ann").map_err(|e| anyhow!("{e}"))?;
    let ann = User {
        id: u.clone(),
        tenant: t.clone(),
        email: "ann@acme.ru".into(),
        full_name: "ANN".into(),
        role: Role::Administrator,
        group: None,
        short_number: Some("101".into()),
        status: UserStatus::Active,
        time_zone: None,
        support_email: None,
        support_phone: None,
        password_hash: "x".into(),
        email_confirmed: true,
        must_change_password: false,
        created_at: 0,
    };
    let company = Tenant {
        id: t.clone(),
        name: "ACME".into(),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: "RU".into(),
        created_at: 0,
        wrap_up_ms: None,
    };
    repos.tenants.create_with_admin(&company, &ann).await?;
    let username = sip_username(&t, &u);
    let password = "ann-secret-pass".to_string();
    let creds = SipCredentials {
        realm: "callisto".into(),
        ha1_md5: ha1(Algorithm::Md5, &username, "callisto", &password),
        ha1_sha256: ha1(Algorithm::Sha256, &username, "callisto", &password),
        updated_at: 0,
    };
    repos.telephony.save_sip_credentials(&t, &u, &creds).await?;
    Ok((t, username, password))
}

fn trunk(port: u16) -> Trunk {
    Trunk {
        enabled: true,
        name: "Main line".into(),
        number: "+74951234567".into(),
        host: "127.0.0.1".into(),
        port,
        transport: SipTransport::Udp,
        login: "acme-trunk".into(),
        domain: String::new(),
        password: "trunk-pass".into(),
        register: false,
        qualify: false,
    }
}

// ---- helpers of the bench side ----------------------------------------------

/// A node process run by the bench; killed when dropped.
struct NodeProc {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    sip: String,
    user: String,
    password: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct NodeStats {
    up: u64,
    ended: u64,
    started: u64,
    a_in: u64,
    a_out: u64,
    b_in: u64,
    b_out: u64,
    dropped_source: u64,
}

impl NodeProc {
    fn start(pin: bool, trunk_port: u16) -> anyhow::Result<NodeProc> {
        let exe = std::env::current_exe()?;
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let mut child = cmd
            .args(["node", "--trunk-port", &trunk_port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("node process")?;
        let stdin = child.stdin.take().context("node stdin")?;
        let mut out = BufReader::new(child.stdout.take().context("node stdout")?);
        let mut line = String::new();
        out.read_line(&mut line)?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [ready, sip, user, password] = parts[..] else {
            bail!("node did not start: {line:?}");
        };
        if ready != "READY" {
            bail!("node did not start: {line:?}");
        }
        Ok(NodeProc {
            sip: sip.into(),
            user: user.into(),
            password: password.into(),
            child,
            stdin,
            out,
        })
    }

    fn stats(&mut self) -> anyhow::Result<NodeStats> {
        writeln!(self.stdin, "stats")?;
        let mut line = String::new();
        self.out.read_line(&mut line)?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        if !line.starts_with("STATS ") || v.len() != 8 {
            bail!("node stats: {line:?}");
        }
        Ok(NodeStats {
            up: v[0],
            ended: v[1],
            started: v[2],
            a_in: v[3],
            a_out: v[4],
            b_in: v[5],
            b_out: v[6],
            dropped_source: v[7],
        })
    }

    /// CPU seconds (user + system) the node has used.
    fn cpu(&self) -> f64 {
        cpu_seconds(self.child.id()).unwrap_or(f64::NAN)
    }

    /// Waits (bounded) until no call is up and `ended` calls have ended.
    fn drain(&mut self, ended: u64, limit: Duration) -> anyhow::Result<NodeStats> {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.stats()?;
            if (s.up == 0 && s.ended >= ended) || Instant::now() > deadline {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / CLK_TCK)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running sipp; killed when dropped.
struct Sipp {
    child: Child,
    dir: PathBuf,
    name: &'static str,
}

impl Sipp {
    fn start(dir: &Path, name: &'static str, args: &[String]) -> anyhow::Result<Sipp> {
        let child = Command::new("sipp")
            .current_dir(dir)
            .args(args)
            .args(["-nostdin", "-trace_err"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("sipp (install sip-tester)")?;
        Ok(Sipp {
            child,
            dir: dir.to_path_buf(),
            name,
        })
    }

    /// Waits for sipp to end; kills it after `limit`.
    fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("sipp {} did not end in {limit:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of sipp's error log, for a failure's message.
    fn errors(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.ends_with("_errors.log") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                out += &format!("--- {n}\n{}\n", &text[text.len().saturating_sub(1500)..]);
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// A folder for one sipp with the scenarios.
fn sipp_dir(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("agent_register.xml"), AGENT_REGISTER)?;
    std::fs::write(dir.join("agent_calls.xml"), AGENT_CALLS)?;
    std::fs::write(dir.join("carrier_answers.xml"), CARRIER_ANSWERS)?;
    Ok(dir)
}

/// The last row of sipp's statistics file (`-trace_stat -stf`), by column.
fn sipp_stats(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().context("empty stats")?.split(';').collect();
    let last: Vec<&str> = lines
        .next_back()
        .context("no stats row")?
        .split(';')
        .collect();
    Ok(header
        .iter()
        .zip(last)
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect())
}

fn stat_u64(st: &HashMap<String, String>, k: &str) -> u64 {
    st.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The carrier behind the trunk (port `trunk_port`), answering every call.
fn start_carrier(
    dir: &Path,
    trunk_port: u16,
    rtp_port: u16,
    calls: u64,
    seconds: u64,
) -> anyhow::Result<Sipp> {
    Sipp::start(
        dir,
        "carrier",
        &[
            s("-sf"),
            s("carrier_answers.xml"),
            s("-i"),
            s("127.0.0.1"),
            s("-p"),
            s(trunk_port),
            s("-key"),
            s("rtp_port"),
            s(rtp_port),
            s("-m"),
            s(calls),
            s("-timeout"),
            format!("{seconds}s"),
            s("-trace_logs"),
            s("-log_file"),
            s("ports.log"),
        ],
    )
}

/// The agent's phone calling out: `calls` calls at `rate`/s, each held `hold_ms`.
fn start_agent(
    dir: &Path,
    node: &NodeProc,
    rtp_port: u16,
    rate: u32,
    calls: u64,
    hold_ms: u64,
    seconds: u64,
) -> anyhow::Result<Sipp> {
    Sipp::start(
        dir,
        "agent",
        &[
            node.sip.clone(),
            s("-sf"),
            s("agent_calls.xml"),
            s("-key"),
            s("user"),
            node.user.clone(),
            s("-key"),
            s("number"),
            s(DIALLED),
            s("-key"),
            s("rtp_port"),
            s(rtp_port),
            s("-au"),
            node.user.clone(),
            s("-ap"),
            node.password.clone(),
            s("-i"),
            s("127.0.0.1"),
            s("-p"),
            s(free_port()?),
            s("-r"),
            s(rate),
            s("-m"),
            s(calls),
            s("-l"),
            s(calls.min(u64::from(rate) * (1 + hold_ms / 1000))),
            s("-d"),
            s(hold_ms),
            s("-timeout"),
            format!("{seconds}s"),
            s("-timeout_error"),
            s("-trace_stat"),
            s("-stf"),
            s("stats.csv"),
            s("-fd"),
            s("1"),
            s("-trace_logs"),
            s("-log_file"),
            s("ports.log"),
        ],
    )
}

/// Registers the agent once (digest), as a phone does when it starts.
fn register_once(dir: &Path, node: &NodeProc) -> anyhow::Result<()> {
    let mut reg = Sipp::start(
        dir,
        "register",
        &[
            node.sip.clone(),
            s("-sf"),
            s("agent_register.xml"),
            s("-key"),
            s("user"),
            node.user.clone(),
            s("-au"),
            node.user.clone(),
            s("-ap"),
            node.password.clone(),
            s("-i"),
            s("127.0.0.1"),
            s("-p"),
            s(free_port()?),
            s("-m"),
            s("1"),
            s("-timeout"),
            s("10s"),
            s("-timeout_error"),
        ],
    )?;
    let st = reg.wait(Duration::from_secs(15))?;
    if !st.success() {
        bail!("registration failed ({st}):\n{}", reg.errors());
    }
    Ok(())
}

fn header(title: &str, pin: bool) {
    println!("\n== {title}");
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    println!(
        "machine cores: {cores} ; node {} ; load average at start: {}",
        if pin {
            "pinned to core 0 (taskset -c 0)"
        } else {
            "not pinned"
        },
        loadavg()
    );
}

// ---- figure 1: call setup rate ----------------------------------------------

fn setup_figure(pin: bool, rates: &[u32], seconds: u32) -> anyhow::Result<()> {
    header("call setup rate through the B2BUA", pin);
    let work = tempfile::tempdir()?;
    let trunk_port = free_port()?;
    let mut node = NodeProc::start(pin, trunk_port)?;
    let total_calls: u64 = rates
        .iter()
        .map(|r| u64::from(*r) * u64::from(seconds))
        .sum();
    let carrier_dir = sipp_dir(work.path(), "carrier")?;
    let _carrier = start_carrier(
        &carrier_dir,
        trunk_port,
        9,
        total_calls,
        rates.len() as u64 * (u64::from(seconds) * 3 + 40) + 30,
    )?;
    std::thread::sleep(Duration::from_millis(300));
    register_once(&sipp_dir(work.path(), "register")?, &node)?;
    println!("agent registered once (digest); every call's INVITE answers a 401 challenge");
    println!(
        "each call: INVITE, 401, ACK, INVITE with credentials, 200 (carrier answers at once), ACK, 100 ms, BYE, 200; no media"
    );
    let mut ended = 0;
    let mut started = node.stats()?.started;
    for &rate in rates {
        let calls = u64::from(rate) * u64::from(seconds);
        let dir = sipp_dir(work.path(), &format!("agent-{rate}"))?;
        let load = loadavg();
        let (cpu0, t0) = (node.cpu(), Instant::now());
        let limit = u64::from(seconds) * 3 + 30;
        let mut agent = start_agent(&dir, &node, 9, rate, calls, 100, limit)?;
        let status = agent.wait(Duration::from_secs(limit + 10))?;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = node.cpu() - cpu0;
        let st = sipp_stats(&dir.join("stats.csv"))?;
        let created = stat_u64(&st, "TotalCallCreated");
        let ok = stat_u64(&st, "SuccessfulCall(C)");
        let failed = stat_u64(&st, "FailedCall(C)");
        let retrans = stat_u64(&st, "Retransmissions(C)");
        let rtd = st.get("ResponseTime1(C)").cloned().unwrap_or_default();
        ended += ok;
        let after = node.drain(ended, Duration::from_secs(15))?;
        let node_started = after.started - started;
        started = after.started;
        println!(
            "rate {rate:>4}/s  attempted={created} succeeded={ok} failed={failed} ({:.2} %)  achieved={:.0} calls/s over {wall:.1} s  setup time avg (INVITE..200)={rtd}  retransmissions={retrans}  calls started by the node={node_started}  node CPU={cpu:.2} s ({:.0} % of a core, {:.2} ms per call started)  sipp exit={}  load={load}",
            if created > 0 {
                100.0 * failed as f64 / created as f64
            } else {
                0.0
            },
            ok as f64 / wall,
            100.0 * cpu / wall,
            1e3 * cpu / node_started.max(1) as f64,
            status.code().unwrap_or(-1),
        );
        if failed > 0 || !status.success() {
            print!("{}", agent.errors());
        }
        if after.up > 0 {
            println!("  (still {} calls up on the node after 15 s)", after.up);
        }
    }
    println!("load average at end: {}", loadavg());
    Ok(())
}

// ---- figures 2 and 3: media through the relay --------------------------------

/// Node media ports (one per call) written by the sipp log action.
fn read_ports(path: &Path) -> Vec<u16> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next_back()?.parse().ok())
        .collect()
}

fn wait_ports(path: &Path, n: usize, limit: Duration) -> Vec<u16> {
    let deadline = Instant::now() + limit;
    loop {
        let p = read_ports(path);
        if p.len() >= n || Instant::now() > deadline {
            return p;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rtp_socket() -> anyhow::Result<UdpSocket> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // Up to net.core.rmem_max: a receiver takes 50 000 packets/s at 1 000 calls.
    sock.set_recv_buffer_size(8 << 20)?;
    sock.set_send_buffer_size(8 << 20)?;
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse()?;
    sock.bind(&addr.into())?;
    let sock: UdpSocket = sock.into();
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(sock)
}

/// Sends 50 packets/s of 20 ms PCMU to each port, spread over each 20 ms, for
/// `seconds`; the payload starts with the send time (ns since `base`).
fn send_media(
    sock: &UdpSocket,
    ports: &[u16],
    base: Instant,
    seconds: u32,
    ssrc_base: u32,
) -> (u64, u64) {
    let (mut sent, mut errors) = (0u64, 0u64);
    let mut pkt = [0xffu8; 172];
    let start = Instant::now();
    let end = start + Duration::from_secs(u64::from(seconds));
    const SLOTS: usize = 20;
    for k in 0u64.. {
        for slot in 0..SLOTS {
            let due = start + Duration::from_millis(20 * k + slot as u64);
            if due >= end {
                return (sent, errors);
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            for (i, port) in ports.iter().enumerate().skip(slot).step_by(SLOTS) {
                pkt[0] = 0x80;
                pkt[1] = 0; // PCMU
                pkt[2..4].copy_from_slice(&(k as u16).to_be_bytes());
                pkt[4..8].copy_from_slice(&((k as u32).wrapping_mul(160)).to_be_bytes());
                pkt[8..12].copy_from_slice(&(ssrc_base + i as u32).to_be_bytes());
                let t = base.elapsed().as_nanos() as u64;
                pkt[12..20].copy_from_slice(&t.to_be_bytes());
                match sock.send_to(&pkt, ("127.0.0.1", *port)) {
                    Ok(_) => sent += 1,
                    Err(_) => errors += 1,
                }
            }
        }
    }
    (sent, errors)
}

/// Receives until `stop`; returns the delays (µs) from the send times.
fn receive_media(sock: &UdpSocket, base: Instant, stop: &AtomicBool) -> Vec<u32> {
    let mut delays = Vec::with_capacity(1 << 20);
    let mut buf = [0u8; 2048];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) if n >= 20 && buf[0] >> 6 == 2 => {
                let now = base.elapsed().as_nanos() as u64;
                let mut t = [0u8; 8];
                t.copy_from_slice(&buf[12..20]);
                let sent = u64::from_be_bytes(t);
                delays.push((now.saturating_sub(sent) / 1000).min(u64::from(u32::MAX)) as u32);
            }
            Ok(_) => {}
            Err(_) => {
                if stop.load(Ordering::Relaxed) {
                    return delays;
                }
            }
        }
    }
}

struct Direction {
    sent: u64,
    send_errors: u64,
    delays: Vec<u32>,
}

impl Direction {
    fn line(&mut self, name: &str) -> String {
        let got = self.delays.len() as u64;
        let loss = if self.sent > 0 {
            100.0 * (self.sent.saturating_sub(got)) as f64 / self.sent as f64
        } else {
            0.0
        };
        let mut d: Vec<Duration> = self
            .delays
            .iter()
            .map(|us| Duration::from_micros(u64::from(*us)))
            .collect();
        let lat = match Summary::of(&mut d) {
            Some(sm) => format!(
                "delay p50={:.3} ms p99={:.3} ms max={:.3} ms",
                sm.p50.as_secs_f64() * 1e3,
                sm.p99.as_secs_f64() * 1e3,
                sm.max.as_secs_f64() * 1e3
            ),
            None => "no packets".into(),
        };
        format!(
            "{name}: sent={} received={got} loss={loss:.3} %{}  {lat}",
            self.sent,
            if self.send_errors > 0 {
                format!(" send_errors={}", self.send_errors)
            } else {
                String::new()
            }
        )
    }
}

fn media_figure(
    pin: bool,
    steps: &[u32],
    seconds: u32,
    ramp_rate: u32,
    latency: bool,
) -> anyhow::Result<()> {
    header(
        if latency {
            "one-way delay added by the relay"
        } else {
            "concurrent bridged G.711 calls with recording"
        },
        pin,
    );
    println!(
        "signalling: sipp agent (digest on every INVITE) -> node -> sipp carrier, {ramp_rate} calls/s; media: this bench, 50 pps of 172-byte PCMU per call each way for {seconds} s once all calls are up"
    );
    let work = tempfile::tempdir()?;
    let trunk_port = free_port()?;
    let mut node = NodeProc::start(pin, trunk_port)?;
    let mut ended = 0u64;
    let mut before = node.stats()?;
    for &n in steps {
        let n64 = u64::from(n);
        let ramp_s = u64::from(n.div_ceil(ramp_rate));
        // Held long enough for the ramp, the media and the bench's margins.
        let hold_ms = (ramp_s + u64::from(seconds) + 5) * 1000;
        let limit = ramp_s * 2 + hold_ms / 1000 + 30;
        let (sock_a, sock_b) = (rtp_socket()?, rtp_socket()?);
        let (pa, pb) = (sock_a.local_addr()?.port(), sock_b.local_addr()?.port());
        let cdir = sipp_dir(work.path(), &format!("carrier-{n}"))?;
        let adir = sipp_dir(work.path(), &format!("agent-{n}"))?;
        let _carrier = start_carrier(&cdir, trunk_port, pb, n64, limit + 10)?;
        std::thread::sleep(Duration::from_millis(300));
        let load_start = loadavg();
        let mut agent = start_agent(&adir, &node, pa, ramp_rate, n64, hold_ms, limit)?;
        let up_limit = Duration::from_secs(ramp_s * 2 + 10);
        let a_ports = wait_ports(&adir.join("ports.log"), n as usize, up_limit);
        let b_ports = wait_ports(&cdir.join("ports.log"), n as usize, Duration::from_secs(2));
        if a_ports.len() < n as usize || b_ports.len() < n as usize {
            println!(
                "calls={n}: only {}/{} calls up after {up_limit:?}; media sent to those",
                a_ports.len(),
                b_ports.len()
            );
        }
        let base = Instant::now();
        let stop = AtomicBool::new(false);
        let cpu0 = node.cpu();
        let t0 = Instant::now();
        let (mut ab, mut ba) = std::thread::scope(|sc| {
            let rx_b = sc.spawn(|| receive_media(&sock_b, base, &stop));
            let rx_a = sc.spawn(|| receive_media(&sock_a, base, &stop));
            let tx_a = sc.spawn(|| send_media(&sock_a, &a_ports, base, seconds, 0x1000_0000));
            let tx_b = sc.spawn(|| send_media(&sock_b, &b_ports, base, seconds, 0x2000_0000));
            let (sa, ea) = tx_a.join().unwrap_or((0, 0));
            let (sb, eb) = tx_b.join().unwrap_or((0, 0));
            // Packets still in flight get half a second.
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::Relaxed);
            let db = rx_b.join().unwrap_or_default();
            let da = rx_a.join().unwrap_or_default();
            (
                Direction {
                    sent: sa,
                    send_errors: ea,
                    delays: db,
                },
                Direction {
                    sent: sb,
                    send_errors: eb,
                    delays: da,
                },
            )
        });
        let media_wall = t0.elapsed().as_secs_f64() - 0.5;
        let cpu = node.cpu() - cpu0;
        let load_media = loadavg();
        let status = agent.wait(Duration::from_secs(limit + 10))?;
        let st = sipp_stats(&adir.join("stats.csv"))?;
        let ok = stat_u64(&st, "SuccessfulCall(C)");
        let failed = stat_u64(&st, "FailedCall(C)");
        ended += ok;
        let after = node.drain(ended, Duration::from_secs(30))?;
        let relay = NodeStats {
            a_in: after.a_in - before.a_in,
            a_out: after.a_out - before.a_out,
            b_in: after.b_in - before.b_in,
            b_out: after.b_out - before.b_out,
            dropped_source: after.dropped_source - before.dropped_source,
            ended: after.ended - before.ended,
            ..after
        };
        before = after;
        println!(
            "calls={n}  up={}  calls ok={ok} failed={failed} (sipp exit {})  node CPU {cpu:.1} s over {media_wall:.1} s of media = {:.0} % of one core  load at start {load_start}, after media {load_media}",
            a_ports.len().min(b_ports.len()),
            status.code().unwrap_or(-1),
            100.0 * cpu / media_wall,
        );
        let relayed = ab.delays.len() + ba.delays.len();
        println!(
            "  node CPU per packet relayed (and recorded) during the media: {:.1} µs ({relayed} packets)",
            1e6 * cpu / relayed.max(1) as f64
        );
        println!("  {}", ab.line("agent->carrier"));
        println!("  {}", ba.line("carrier->agent"));
        println!(
            "  relay counters of {} ended calls: agent leg in={} out={}, carrier leg in={} out={} (relay drops agent->carrier {}, carrier->agent {}; from other sources {})",
            relay.ended,
            relay.a_in,
            relay.a_out,
            relay.b_in,
            relay.b_out,
            relay.a_in as i64 - relay.b_out as i64,
            relay.b_in as i64 - relay.a_out as i64,
            relay.dropped_source,
        );
        if failed > 0 || !status.success() {
            print!("{}", agent.errors());
        }
    }
    println!("load average at end: {}", loadavg());
    drop(node);
    Ok(())
}

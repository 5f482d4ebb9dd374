//! A company with an agent and a trunk, real `sipp` peers, and audio files
//! for them to play, shared by the node's SIP tests.

use callisto_domain::access::Role;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::telephony::{SipCredentials, SipTransport, Trunk, sip_username};
use callisto_domain::user::{BillingDetails, Tenant, User, UserStatus};
use callisto_media::g711::{alaw_encode, ulaw_encode};
use callisto_media::tone::{ToneGenerator, ToneSpec};
use callisto_node::{Node, NodeConfig};
use callisto_sip::digest::{Algorithm, ha1};
use callisto_store::Repos;
use callisto_store::StoreError;
use callisto_store::item::{Condition, Item, ItemStore, Key, Page, Query, WriteOp};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TRUNK_NUMBER: &str = "+74951234567";

pub struct Agent {
    pub user: UserId,
    pub username: String,
    pub password: String,
}

/// Company "acme" with agents ann (101) and bob (102), both with SIP passwords.
pub async fn company(repos: &Repos) -> (TenantId, Agent, Agent) {
    let t = TenantId::parse("acme").unwrap();
    let user = |id: &str, ext: &str, role: Role| User {
        id: UserId::parse(id).unwrap(),
        tenant: t.clone(),
        email: format!("{id}@acme.ru"),
        full_name: id.to_uppercase(),
        role,
        group: None,
        short_number: Some(ext.into()),
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
    repos
        .tenants
        .create_with_admin(&company, &user("ann", "101", Role::Administrator))
        .await
        .unwrap();
    repos
        .users
        .create(&user("bob", "102", Role::Manager))
        .await
        .unwrap();
    let mut agents = Vec::new();
    for id in ["ann", "bob"] {
        let u = UserId::parse(id).unwrap();
        agents.push(set_sip_password(repos, &t, &u, &format!("{id}-secret-pass")).await);
    }
    let bob = agents.pop().unwrap();
    let ann = agents.pop().unwrap();
    (t, ann, bob)
}

/// Another company, `tenant`, with one agent `user` (short number 101) and
/// its SIP password.
pub async fn one_agent_company(repos: &Repos, tenant: &str, user: &str) -> (TenantId, Agent) {
    let t = TenantId::parse(tenant).unwrap();
    let u = UserId::parse(user).unwrap();
    let admin = User {
        id: u.clone(),
        tenant: t.clone(),
        email: format!("{user}@{tenant}.ru"),
        full_name: user.to_uppercase(),
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
        name: tenant.to_uppercase(),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: "RU".into(),
        created_at: 0,
        wrap_up_ms: None,
    };
    repos
        .tenants
        .create_with_admin(&company, &admin)
        .await
        .unwrap();
    let agent = set_sip_password(repos, &t, &u, &format!("{user}-secret-pass")).await;
    (t, agent)
}

/// Gives agent `u` of company `t` the SIP password `password`, as the web
/// app's "new SIP password" does.
pub async fn set_sip_password(repos: &Repos, t: &TenantId, u: &UserId, password: &str) -> Agent {
    let username = sip_username(t, u);
    let creds = SipCredentials {
        realm: "callisto".into(),
        ha1_md5: ha1(Algorithm::Md5, &username, "callisto", password),
        ha1_sha256: ha1(Algorithm::Sha256, &username, "callisto", password),
        updated_at: 0,
    };
    repos
        .telephony
        .save_sip_credentials(t, u, &creds)
        .await
        .unwrap();
    Agent {
        user: u.clone(),
        username,
        password: password.into(),
    }
}

pub fn trunk(port: u16, register: bool) -> Trunk {
    Trunk {
        enabled: true,
        name: "Main line".into(),
        number: TRUNK_NUMBER.into(),
        host: "127.0.0.1".into(),
        port,
        transport: SipTransport::Udp,
        login: "acme-trunk".into(),
        domain: String::new(),
        password: "trunk-pass".into(),
        register,
        qualify: false,
    }
}

/// A free port for a peer (its SIP or RTP), below the kernel's ephemeral
/// range: a port picked inside it could be handed to the node's own RTP
/// sockets before the peer binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    // Tests run side by side in one process: each call takes the next block.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 300) as u16 * 40;
    loop {
        let p = base + (NEXT.fetch_add(4, Ordering::Relaxed) % 12_000);
        if (0..4).all(|d| UdpSocket::bind(("127.0.0.1", p + d)).is_ok()) {
            return p;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wav {
    Ulaw,
    Alaw,
    Pcm16,
}

/// A mono 8 kHz WAV of a tone: µ-law or A-law for sipp's rtp_stream, PCM for baresip.
pub fn tone_wav(path: &Path, freq: f64, seconds: u32, format: Wav) {
    let n = 8000 * seconds as usize;
    let mut pcm = vec![0i16; n];
    ToneGenerator::new(ToneSpec::sine(freq, -10.0), 8000).fill(&mut pcm);
    let (tag, bits, data): (u16, u16, Vec<u8>) = match format {
        Wav::Ulaw => (7, 8, pcm.iter().map(|s| ulaw_encode(*s)).collect()),
        Wav::Alaw => (6, 8, pcm.iter().map(|s| alaw_encode(*s)).collect()),
        Wav::Pcm16 => (1, 16, pcm.iter().flat_map(|s| s.to_le_bytes()).collect()),
    };
    let block = bits / 8;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&tag.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&(8000 * u32::from(block)).to_le_bytes());
    wav.extend_from_slice(&block.to_le_bytes());
    wav.extend_from_slice(&bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav).unwrap();
}

/// A folder for one peer whose `tone.wav` plays `freq`.
pub fn peer_dir(parent: &Path, name: &str, freq: f64, seconds: u32, format: Wav) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    tone_wav(&dir.join("tone.wav"), freq, seconds, format);
    dir
}

/// A running sipp; killed when dropped.
pub struct Sipp {
    child: Child,
    pub name: String,
    dir: PathBuf,
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

impl Sipp {
    /// Starts sipp in `dir` with `args`; fields for `[fieldN]` from `fields` (one call).
    pub fn start(dir: &Path, name: &str, fields: &[&str], args: &[&str]) -> Sipp {
        Sipp::start_calls(dir, name, fields, args, 1)
    }

    /// Agent `agent` on sipp (named "agent" in `dir`) calling `number`
    /// through `node` with digest auth (agent_calls_out.xml: it talks, then
    /// hangs up), over `transport` (`u1`, `t1`…).
    pub fn agent_calls(
        dir: &Path,
        node: std::net::SocketAddr,
        agent: &Agent,
        number: &str,
        transport: &str,
    ) -> Sipp {
        let node = node.to_string();
        Sipp::start(
            dir,
            "agent",
            &[&agent.username, &agent.password, number],
            &[
                &node,
                "-au",
                &agent.username,
                "-ap",
                &agent.password,
                "-sf",
                scenario("agent_calls_out.xml").to_str().unwrap(),
                "-p",
                &free_port().to_string(),
                "-t",
                transport,
            ],
        )
    }

    /// As [`Sipp::start`], for `calls` calls.
    pub fn start_calls(dir: &Path, name: &str, fields: &[&str], args: &[&str], calls: u32) -> Sipp {
        assert!(
            Command::new("sipp").arg("-v").output().is_ok(),
            "sipp is not installed: run scripts/install-system-deps.sh test"
        );
        let inf = dir.join(format!("{name}.csv"));
        std::fs::write(&inf, format!("SEQUENTIAL\n{};\n", fields.join(";"))).unwrap();
        let child = Command::new("sipp")
            .current_dir(dir)
            .args(args)
            // Everything on 127.0.0.1; media on a port of its own.
            .args([
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
                "-mp",
                &free_port().to_string(),
            ])
            .args([
                "-inf",
                inf.to_str().unwrap(),
                "-m",
                &calls.to_string(),
                "-nostdin",
                "-timeout",
                "40s",
                "-timeout_error",
            ])
            .args(["-trace_err", "-trace_msg", "-trace_logs"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap())
            .spawn()
            .unwrap();
        Sipp {
            child,
            name: name.into(),
            dir: dir.to_path_buf(),
        }
    }

    /// Waits for sipp to finish; its exit code 0 means every step of the
    /// scenario happened as written. On failure the message log is shown.
    pub fn wait_success(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if status.success() {
                    return;
                }
                panic!("sipp {} failed ({status}):\n{}", self.name, self.logs());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "sipp {} did not finish in {limit:?}:\n{}",
                    self.name,
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (off the runtime) for the scenario to have run to its end; see
    /// [`Sipp::wait_success`].
    pub async fn finished(mut self, limit: Duration) {
        tokio::task::spawn_blocking(move || self.wait_success(limit))
            .await
            .unwrap();
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if n.ends_with("_errors.log")
                    || n.ends_with("_messages.log")
                    || n.ends_with(".stderr")
                {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    // The end of a log tells what went wrong; keep failures readable.
                    let tail = &text[text.len().saturating_sub(3000)..];
                    out += &format!("--- {n}\n{tail}\n");
                }
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

/// The left and right channels of a 16-bit stereo WAV.
pub fn wav_channels(wav: &[u8]) -> (Vec<i16>, Vec<i16>) {
    let frames: Vec<(i16, i16)> = wav[44..]
        .chunks_exact(4)
        .map(|c| {
            (
                i16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            )
        })
        .collect();
    (
        frames.iter().map(|f| f.0).collect(),
        frames.iter().map(|f| f.1).collect(),
    )
}

/// A baresip softphone for one agent: registers to the node with the agent's
/// SIP password, answers calls at once, plays `tone.wav` of its folder and
/// writes what it hears to WAV files there (the sndfile module).
pub struct Baresip {
    child: Child,
    pub dir: PathBuf,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Baresip {
    pub fn start(dir: &Path, node: std::net::SocketAddr, agent: &Agent) -> Baresip {
        Baresip::start_with(dir, node, agent, 300, &[])
    }

    /// As [`Baresip::start`], registering for `regint` seconds, with more
    /// command-line arguments (`-e` commands to run once started, `-t`
    /// seconds to quit after, `-s` to print every SIP message).
    pub fn start_with(
        dir: &Path,
        node: std::net::SocketAddr,
        agent: &Agent,
        regint: u32,
        args: &[&str],
    ) -> Baresip {
        assert!(
            Command::new("baresip").arg("-h").output().is_ok(),
            "baresip is not installed: run scripts/install-system-deps.sh test"
        );
        let config = format!(
            "sip_listen\t\t127.0.0.1:{}\naudio_player\t\taubridge,x\naudio_alert\t\taubridge,x\n\
             audio_source\t\taufile,{}\nmodule_path\t\t/usr/lib/baresip/modules\n\
             module\t\t\tg711.so\nmodule\t\t\taufile.so\nmodule\t\t\taubridge.so\n\
             module\t\t\tsndfile.so\nmodule_app\t\taccount.so\nmodule_app\t\tmenu.so\nsnd_path\t\t{}\nnet_prefer_ipv6\t\tno\n",
            free_port(),
            dir.join("tone.wav").display(),
            dir.display()
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(
            dir.join("accounts"),
            format!(
                "<sip:{}@{}>;auth_pass={};answermode=auto;regint={regint}\n",
                agent.username, node, agent.password
            ),
        )
        .unwrap();
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Baresip {
            child,
            dir: dir.to_path_buf(),
            lines,
        }
    }

    /// Waits until baresip prints a line containing `needle`; returns what it printed.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut seen = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    seen += &line;
                    seen.push('\n');
                    if line.contains(needle) {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("baresip never printed {needle:?}; it printed:\n{seen}");
    }

    /// The audio baresip received and decoded, read from its sndfile dump.
    pub fn heard(&self) -> Vec<i16> {
        let mut best = Vec::new();
        for e in std::fs::read_dir(&self.dir).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with("dump-") && n.ends_with("-dec.wav") {
                let data = std::fs::read(e.path()).unwrap();
                let pcm: Vec<i16> = data[44.min(data.len())..]
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                if pcm.len() > best.len() {
                    best = pcm;
                }
            }
        }
        best
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node over a fresh store with company "acme" (agents ann and bob) and
/// its trunk on `trunk_port`; SIP over WebSocket too when `websocket`.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub stores: callisto_store::Stores,
    pub repos: Repos,
    pub t: callisto_domain::ids::TenantId,
    pub ann: Agent,
    pub bob: Agent,
    pub trunk_port: u16,
    pub node: Node,
}

pub async fn setup(websocket: bool) -> Setup {
    setup_with(websocket, |_| {}).await
}

/// As [`setup`], with the node's settings changed by `tune` first.
pub async fn setup_with(websocket: bool, tune: impl FnOnce(&mut NodeConfig)) -> Setup {
    setup_over(websocket, |items| items, tune).await
}

/// As [`setup_with`], with the node's item store wrapped by `wrap` (the
/// test's own repositories use the store as it is).
pub async fn setup_over(
    websocket: bool,
    wrap: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    tune: impl FnOnce(&mut NodeConfig),
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let (t, ann, bob) = company(&repos).await;
    let trunk_port = free_port();
    repos
        .telephony
        .save_trunk(&t, &trunk(trunk_port, false), 0)
        .await
        .unwrap();
    let mut cfg = NodeConfig::local(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("spool"),
        b"test nonce secret".to_vec(),
    );
    if websocket {
        cfg.ws_addr = Some("127.0.0.1:0".parse().unwrap());
    }
    tune(&mut cfg);
    let node_stores = callisto_store::Stores {
        items: wrap(stores.items.clone()),
        ..stores.clone()
    };
    let node = Node::start(cfg, node_stores).await.unwrap();
    node.refresh().await.unwrap();
    Setup {
        dir,
        stores,
        repos,
        t,
        ann,
        bob,
        trunk_port,
        node,
    }
}

/// The company's calls of this month once at least `n` are in the store.
pub async fn wait_for_calls(
    repos: &Repos,
    t: &callisto_domain::ids::TenantId,
    n: usize,
) -> Vec<callisto_domain::call::CallRecord> {
    let (y, m) = callisto_domain::call::month_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    for _ in 0..100 {
        let calls = repos.calls.month(t, y, m, None, 50).await.unwrap().items;
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} call record(s) expected in the store");
}

/// Replaces the company's trunk with `tr` (the node reads it at its next refresh).
pub async fn replace_trunk(s: &Setup, tr: &Trunk) {
    let v = s
        .repos
        .telephony
        .trunk(&s.t)
        .await
        .unwrap()
        .unwrap()
        .version;
    s.repos.telephony.save_trunk(&s.t, tr, v).await.unwrap();
}

/// The recording's two channels, fetched from the blob store.
pub async fn recording(
    stores: &callisto_store::Stores,
    call: &callisto_domain::call::CallRecord,
) -> (Vec<i16>, Vec<i16>) {
    let rec = call.recording.clone().expect("recorded");
    let path = rec.key.split_once('/').unwrap().1;
    let blob = stores
        .blobs
        .get(&callisto_store::blob::BlobKey::new(&call.tenant, path).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.data.len() as u64, rec.bytes);
    wav_channels(&blob.data)
}

pub fn tone_at(samples: &[i16]) -> f64 {
    let mid = samples.len() / 2;
    callisto_media::tone::dominant_frequency(
        &samples[mid.saturating_sub(2000)..(mid + 2000).min(samples.len())],
        8000,
    )
}

/// The real item store, with reads of one company's record made slow: a
/// store (DynamoDB on a bad day) that takes `delay` to answer for it, or
/// fails. Counts those reads.
#[derive(Debug)]
pub struct SlowCompany {
    inner: Arc<dyn ItemStore>,
    pk: String,
    delay: Duration,
    reads: AtomicUsize,
    failing: AtomicBool,
}

impl SlowCompany {
    pub fn new(inner: Arc<dyn ItemStore>, tenant: &str, delay: Duration) -> SlowCompany {
        SlowCompany {
            inner,
            pk: format!("T#{tenant}"),
            delay,
            reads: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// From now on the company's reads fail (after the delay), or work again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times the company's record was read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl ItemStore for SlowCompany {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        if key.pk == self.pk && key.sk == "TENANT" {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::backend("the store is down"));
            }
        }
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.write_batch(ops).await
    }
}

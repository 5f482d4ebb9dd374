//! The task that carries one bridged call's media: it owns the two legs' RTP
//! sockets for the length of the call and drives the sans-IO [`Bridge`]. An
//! echo test's one leg gets a task of the same kind around [`Echo`]
//! ([`spawn_echo`]), with the same handle.

use crate::bridge::{Bridge, BridgeError, LegMedia, Side};
use crate::echo::Echo;
use crate::webrtc::{BROWSER, WebRtcError, WebRtcLeg};
use callisto_domain::call::CallId;
use callisto_media::recorder::Prompt;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug)]
enum Control {
    Music {
        side: Side,
        on: bool,
    },
    /// A browser leg's new offer in its running session; the answer goes back.
    Reoffer {
        side: Side,
        offer: String,
        answer: oneshot::Sender<Result<String, WebRtcError>>,
    },
    Stop,
}

/// How the call's media ended: the recording's length, if it was recorded.
pub type RelayResult = Result<Option<u64>, BridgeError>;

#[derive(Debug)]
pub struct RelayHandle {
    control: mpsc::UnboundedSender<Control>,
    done: oneshot::Receiver<RelayResult>,
}

impl RelayHandle {
    pub fn music(&self, side: Side, on: bool) {
        let _ = self.control.send(Control::Music { side, on });
    }

    /// Answers a browser leg's new offer (hold, resume) in its running
    /// WebRTC session; an error when that side is not a browser. The future
    /// does not borrow the handle, so the caller need not wait in place.
    pub fn reoffer(
        &self,
        side: Side,
        offer: String,
    ) -> impl Future<Output = Result<String, WebRtcError>> + Send + 'static {
        let (answer, rx) = oneshot::channel();
        let sent = self
            .control
            .send(Control::Reoffer {
                side,
                offer,
                answer,
            })
            .is_ok();
        async move {
            let gone = || WebRtcError::Offer("the call's media has ended".into());
            if !sent {
                return Err(gone());
            }
            rx.await.map_err(|_| gone())?
        }
    }

    /// Stops the relay and waits for the recording to be complete on disk.
    pub async fn stop(self) -> RelayResult {
        let _ = self.control.send(Control::Stop);
        self.done.await.unwrap_or(Ok(None))
    }
}

#[derive(Debug)]
pub struct RelaySetup {
    pub sockets: [Arc<UdpSocket>; 2],
    /// A browser leg's WebRTC session, on that side's socket.
    pub webrtc: [Option<WebRtcLeg>; 2],
    pub media: [LegMedia; 2],
    pub recording: Option<PathBuf>,
    pub hold_music: Option<Arc<Prompt>>,
    pub seeds: [u32; 2],
}

pub fn spawn(setup: RelaySetup) -> Result<RelayHandle, BridgeError> {
    let now = Instant::now();
    let file = match &setup.recording {
        Some(p) => Some(BufWriter::new(
            File::create(p).map_err(|e| BridgeError::Recording(e.into()))?,
        )),
        None => None,
    };
    let mut bridge = Bridge::new(now, setup.media[0], setup.media[1], setup.seeds, file)?;
    let (control, mut rx) = mpsc::unbounded_channel();
    let (done_tx, done) = oneshot::channel();
    let sockets = setup.sockets;
    let mut webrtc = setup.webrtc;
    let music = setup.hold_music;
    tokio::spawn(async move {
        let (mut buf_a, mut buf_b, mut out) = (vec![0u8; 2048], vec![0u8; 2048], vec![0u8; 2048]);
        // Which sides hear hold music now: they need a frame every 20 ms.
        let mut playing = [false; 2];
        let browser = webrtc.iter().any(Option::is_some);
        let mut tick = ticker(tick_period(browser, playing));
        let mut generated = Vec::new();
        let mut datagrams = Vec::new();
        loop {
            let (side, n, src) = tokio::select! {
                r = sockets[0].recv_from(&mut buf_a) => match r {
                    Ok((n, src)) => (Side::A, n, src),
                    Err(_) => continue,
                },
                r = sockets[1].recv_from(&mut buf_b) => match r {
                    Ok((n, src)) => (Side::B, n, src),
                    Err(_) => continue,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    for (i, leg) in webrtc.iter_mut().enumerate() {
                        if let Some(leg) = leg.as_mut() && leg.poll_timeout() <= now {
                            leg.handle_timeout(now, &mut datagrams);
                            send_all(&sockets[i], &mut datagrams).await;
                        }
                    }
                    bridge.tick(now, &mut generated);
                    for (side, dest, pkt) in std::mem::take(&mut generated) {
                        deliver(&sockets, &mut webrtc, side, dest, &pkt, &mut datagrams).await;
                    }
                    continue;
                },
                c = rx.recv() => match c {
                    Some(Control::Music { side, on }) => {
                        let player = if on { music.as_ref().map(|m| m.player(true)) } else { None };
                        let was = tick_period(browser, playing);
                        playing[index(side)] = player.is_some();
                        bridge.set_music(Instant::now(), side, player);
                        if tick_period(browser, playing) != was {
                            tick = ticker(tick_period(browser, playing));
                        }
                        continue;
                    }
                    Some(Control::Reoffer { side, offer, answer }) => {
                        let i = index(side);
                        let result = match webrtc[i].as_mut() {
                            Some(leg) => leg.accept_reoffer(&offer, &mut datagrams),
                            None => Err(WebRtcError::Offer("not a browser leg".into())),
                        };
                        send_all(&sockets[i], &mut datagrams).await;
                        let _ = answer.send(result);
                        continue;
                    }
                    Some(Control::Stop) | None => break,
                },
            };
            let now = Instant::now();
            let data = match side {
                Side::A => &buf_a[..n],
                Side::B => &buf_b[..n],
            };
            let i = index(side);
            let other = other(side);
            match webrtc[i].as_mut() {
                // A browser's datagram: ICE, DTLS or SRTP; what comes out is RTP.
                Some(leg) => {
                    leg.handle_datagram(now, src, data, &mut datagrams);
                    send_all(&sockets[i], &mut datagrams).await;
                    let packets: Vec<Vec<u8>> = leg.take_inbound().collect();
                    for rtp in packets {
                        if let Some((dest, len)) =
                            bridge.handle_packet(now, side, BROWSER, &rtp, &mut out)
                        {
                            let pkt = &out[..len];
                            deliver(&sockets, &mut webrtc, other, dest, pkt, &mut datagrams).await;
                        }
                    }
                }
                None => {
                    if let Some((dest, len)) = bridge.handle_packet(now, side, src, data, &mut out)
                    {
                        let pkt = &out[..len];
                        deliver(&sockets, &mut webrtc, other, dest, pkt, &mut datagrams).await;
                    }
                }
            }
        }
        let (sa, sb) = (bridge.stats(Side::A), bridge.stats(Side::B));
        tracing::info!(
            a_in = sa.packets_in,
            a_out = sa.packets_out,
            a_dropped_source = sa.dropped_source,
            b_in = sb.packets_in,
            b_out = sb.packets_out,
            b_dropped_source = sb.dropped_source,
            "media ended"
        );
        let result = bridge.finish(Instant::now()).map(|r| {
            r.map(|(w, ms)| {
                drop(w);
                ms
            })
        });
        let _ = done_tx.send(result);
    });
    Ok(RelayHandle { control, done })
}

/// The one leg of an echo test.
#[derive(Debug)]
pub struct EchoSetup {
    /// The call, for the log.
    pub call: CallId,
    pub socket: Arc<UdpSocket>,
    /// A browser caller's WebRTC session, on the socket.
    pub webrtc: Option<WebRtcLeg>,
    pub media: LegMedia,
    pub seed: u32,
}

/// Starts echoing a leg's media back to it until stopped. Hold music does
/// not apply (there is nobody to hold for); a browser's re-offer is answered
/// in its session. It records nothing: `stop` gives `Ok(None)`.
pub fn spawn_echo(setup: EchoSetup) -> RelayHandle {
    let (control, mut rx) = mpsc::unbounded_channel();
    let (done_tx, done) = oneshot::channel();
    let EchoSetup {
        call,
        socket,
        mut webrtc,
        media,
        seed,
    } = setup;
    let mut echo = Echo::new(media, seed);
    tokio::spawn(async move {
        let (mut buf, mut out) = (vec![0u8; 2048], vec![0u8; 2048]);
        let mut datagrams = Vec::new();
        // A browser's ICE and DTLS timers need a wake-up; a plain phone none.
        let mut tick = ticker(tick_period(webrtc.is_some(), [false; 2]));
        loop {
            let (n, src) = tokio::select! {
                r = socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    Err(_) => continue,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    if let Some(leg) = webrtc.as_mut() && leg.poll_timeout() <= now {
                        leg.handle_timeout(now, &mut datagrams);
                        send_all(&socket, &mut datagrams).await;
                    }
                    continue;
                },
                c = rx.recv() => match c {
                    Some(Control::Music { .. }) => continue,
                    Some(Control::Reoffer { offer, answer, .. }) => {
                        let result = match webrtc.as_mut() {
                            Some(leg) => leg.accept_reoffer(&offer, &mut datagrams),
                            None => Err(WebRtcError::Offer("not a browser leg".into())),
                        };
                        send_all(&socket, &mut datagrams).await;
                        let _ = answer.send(result);
                        continue;
                    }
                    Some(Control::Stop) | None => break,
                },
            };
            let now = Instant::now();
            match webrtc.as_mut() {
                Some(leg) => {
                    leg.handle_datagram(now, src, &buf[..n], &mut datagrams);
                    send_all(&socket, &mut datagrams).await;
                    let packets: Vec<Vec<u8>> = leg.take_inbound().collect();
                    for rtp in packets {
                        if let Some((_, len)) = echo.handle_packet(BROWSER, &rtp, &mut out) {
                            leg.send_rtp(now, &out[..len], &mut datagrams);
                            send_all(&socket, &mut datagrams).await;
                        }
                    }
                }
                None => {
                    if let Some((dest, len)) = echo.handle_packet(src, &buf[..n], &mut out) {
                        let _ = socket.send_to(&out[..len], dest).await;
                    }
                }
            }
        }
        let s = echo.stats();
        tracing::info!(
            call = %call,
            packets_in = s.packets_in,
            packets_out = s.packets_out,
            dropped_source = s.dropped_source,
            dropped_invalid = s.dropped_invalid,
            browser = webrtc.is_some(),
            "echo media ended"
        );
        let _ = done_tx.send(Ok(None));
    });
    RelayHandle { control, done }
}

/// How often the relay wakes without a packet: every 20 ms while it plays
/// hold music (a frame each time) or carries a browser leg (its ICE and DTLS
/// timers), otherwise only to move the recording on, which keeps two seconds
/// of audio in memory: a thousand calls then cost a thousand wake-ups less
/// every 20 ms.
fn tick_period(browser: bool, playing: [bool; 2]) -> Duration {
    if browser || playing.iter().any(|p| *p) {
        Duration::from_millis(20)
    } else {
        Duration::from_millis(200)
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

fn index(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::A => Side::B,
        Side::B => Side::A,
    }
}

async fn send_all(sock: &UdpSocket, datagrams: &mut Vec<(SocketAddr, Vec<u8>)>) {
    for (dest, d) in datagrams.drain(..) {
        let _ = sock.send_to(&d, dest).await;
    }
}

/// Sends an RTP packet the bridge made for `side`: straight to a plain peer,
/// or through the browser leg's WebRTC session (SRTP).
async fn deliver(
    sockets: &[Arc<UdpSocket>; 2],
    webrtc: &mut [Option<WebRtcLeg>; 2],
    side: Side,
    dest: SocketAddr,
    packet: &[u8],
    datagrams: &mut Vec<(SocketAddr, Vec<u8>)>,
) {
    let i = index(side);
    match webrtc[i].as_mut() {
        Some(leg) => {
            leg.send_rtp(Instant::now(), packet, datagrams);
            send_all(&sockets[i], datagrams).await;
        }
        None => {
            let _ = sockets[i].send_to(packet, dest).await;
        }
    }
}

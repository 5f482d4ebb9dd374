//! The task that carries one bridged call's media: it owns the two legs' RTP
//! sockets for the length of the call and drives the sans-IO [`Bridge`].

use crate::bridge::{Bridge, BridgeError, LegMedia, Side};
use callisto_media::recorder::Prompt;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug)]
enum Control {
    Music { side: Side, on: bool },
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

    /// Stops the relay and waits for the recording to be complete on disk.
    pub async fn stop(self) -> RelayResult {
        let _ = self.control.send(Control::Stop);
        self.done.await.unwrap_or(Ok(None))
    }
}

#[derive(Debug)]
pub struct RelaySetup {
    pub sockets: [Arc<UdpSocket>; 2],
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
    let [a, b] = setup.sockets;
    let music = setup.hold_music;
    tokio::spawn(async move {
        let (mut buf_a, mut buf_b, mut out) = (vec![0u8; 2048], vec![0u8; 2048], vec![0u8; 2048]);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut generated = Vec::new();
        loop {
            tokio::select! {
                r = a.recv_from(&mut buf_a) => if let Ok((n, src)) = r
                    && let Some((dest, len)) = bridge.handle_packet(Instant::now(), Side::A, src, &buf_a[..n], &mut out)
                {
                    let _ = b.send_to(&out[..len], dest).await;
                },
                r = b.recv_from(&mut buf_b) => if let Ok((n, src)) = r
                    && let Some((dest, len)) = bridge.handle_packet(Instant::now(), Side::B, src, &buf_b[..n], &mut out)
                {
                    let _ = a.send_to(&out[..len], dest).await;
                },
                _ = tick.tick() => {
                    bridge.tick(Instant::now(), &mut generated);
                    for (side, dest, pkt) in generated.drain(..) {
                        let sock = match side { Side::A => &a, Side::B => &b };
                        let _ = sock.send_to(&pkt, dest).await;
                    }
                },
                c = rx.recv() => match c {
                    Some(Control::Music { side, on }) => {
                        let player = if on { music.as_ref().map(|m| m.player(true)) } else { None };
                        bridge.set_music(Instant::now(), side, player);
                    }
                    Some(Control::Stop) | None => break,
                },
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

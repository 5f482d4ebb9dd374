//! SDP (RFC 8866) for the node's audio calls and the offer/answer rules of
//! RFC 3264: read a peer's description, build the node's own offer, answer an
//! offer with the codecs both sides have, and tell hold from talk.
//!
//! Only what an audio call needs is typed (connection address, the audio
//! stream's port, payload types with their rtpmap/fmtp, direction, ptime);
//! every other attribute is kept verbatim so nothing a peer sent is lost.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("SDP has no {0}")]
    Missing(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to an offer in this direction (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }
}

/// A codec as the node knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
    Opus,
    TelephoneEvent,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::Opus => "opus",
            Codec::TelephoneEvent => "telephone-event",
        }
    }

    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            _ => 8_000,
        }
    }

    /// The static payload type, if the codec has one (RFC 3551).
    fn static_pt(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            _ => None,
        }
    }

    fn from_rtpmap(name: &str, rate: u32) -> Option<Codec> {
        let c = [Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::TelephoneEvent]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))?;
        (c.clock_rate() == rate).then_some(c)
    }
}

/// One payload type of the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub pt: u8,
    /// `None` for payload types the node does not know.
    pub codec: Option<Codec>,
    /// `name/rate[/channels]` as the rtpmap line said (empty for static types without one).
    pub rtpmap: String,
    pub fmtp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub origin_user: String,
    pub session_id: u64,
    pub session_version: u64,
    /// The audio stream's connection address (media-level `c=` over session-level).
    pub address: IpAddr,
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`…
    pub protocol: String,
    /// In the order of preference the m-line gives.
    pub formats: Vec<Format>,
    pub direction: Direction,
    pub ptime: Option<u32>,
    /// Other attributes of the audio stream, verbatim (`ice-ufrag:…`, `rtcp-mux`…).
    pub attributes: Vec<String>,
}

impl Session {
    pub fn parse(text: &str) -> Result<Session, SdpError> {
        let mut origin = None;
        let mut session_addr = None;
        let mut media_addr = None;
        let mut audio: Option<(u16, String, Vec<u8>)> = None;
        let mut in_audio = false;
        let mut seen_media = false;
        let mut rtpmaps: Vec<(u8, String)> = Vec::new();
        let mut fmtps: Vec<(u8, String)> = Vec::new();
        let mut direction = None;
        let mut session_direction = None;
        let mut ptime = None;
        let mut attributes = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: &str| SdpError::Line {
                line,
                message: message.to_string(),
            };
            let raw = raw.trim_end_matches('\r');
            if raw.is_empty() {
                continue;
            }
            let (kind, value) = raw
                .split_once('=')
                .filter(|(k, _)| k.len() == 1)
                .ok_or_else(|| err("expected <type>=<value>"))?;
            match kind {
                "o" => {
                    let f: Vec<&str> = value.split(' ').collect();
                    if f.len() != 6 {
                        return Err(err("o= needs 6 fields"));
                    }
                    let id = f[1].parse().map_err(|_| err("bad session id"))?;
                    let ver = f[2].parse().map_err(|_| err("bad session version"))?;
                    origin = Some((f[0].to_string(), id, ver));
                }
                "c" => {
                    let f: Vec<&str> = value.split(' ').collect();
                    if f.len() != 3 || f[0] != "IN" || !(f[1] == "IP4" || f[1] == "IP6") {
                        return Err(err("c= must be IN IP4|IP6 <address>"));
                    }
                    // A multicast TTL suffix (`/127`) is not for calls; ignore it.
                    let addr: IpAddr = f[2]
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .parse()
                        .map_err(|_| err("c= address is not an IP address"))?;
                    if in_audio {
                        media_addr = Some(addr);
                    } else if !seen_media {
                        session_addr = Some(addr);
                    }
                }
                "m" => {
                    seen_media = true;
                    let f: Vec<&str> = value.split(' ').collect();
                    if f.len() < 4 {
                        return Err(err("m= needs media, port, protocol and formats"));
                    }
                    in_audio = f[0] == "audio" && audio.is_none();
                    if in_audio {
                        let port = f[1]
                            .split('/')
                            .next()
                            .unwrap_or("")
                            .parse()
                            .map_err(|_| err("bad port"))?;
                        let pts = f[3..]
                            .iter()
                            .map(|p| p.parse::<u8>().ok().filter(|p| *p < 128))
                            .collect::<Option<Vec<u8>>>()
                            .ok_or_else(|| err("payload types must be 0-127"))?;
                        audio = Some((port, f[2].to_string(), pts));
                    }
                }
                "a" if !seen_media || in_audio => {
                    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                    let dir = match name {
                        "sendrecv" => Some(Direction::SendRecv),
                        "sendonly" => Some(Direction::SendOnly),
                        "recvonly" => Some(Direction::RecvOnly),
                        "inactive" => Some(Direction::Inactive),
                        _ => None,
                    };
                    if let Some(d) = dir {
                        if in_audio {
                            direction = Some(d);
                        } else {
                            session_direction = Some(d);
                        }
                        continue;
                    }
                    if !in_audio {
                        continue;
                    }
                    match name {
                        "rtpmap" | "fmtp" => {
                            let (pt, rest) = arg
                                .split_once(' ')
                                .ok_or_else(|| err("expected <pt> <value>"))?;
                            let pt = pt.parse::<u8>().map_err(|_| err("bad payload type"))?;
                            if name == "rtpmap" {
                                rtpmaps.push((pt, rest.trim().to_string()));
                            } else {
                                fmtps.push((pt, rest.trim().to_string()));
                            }
                        }
                        "ptime" => ptime = arg.trim().parse().ok(),
                        _ => attributes.push(value.to_string()),
                    }
                }
                _ => {}
            }
        }
        let (origin_user, session_id, session_version) =
            origin.ok_or(SdpError::Missing("o= line"))?;
        let (port, protocol, pts) = audio.ok_or(SdpError::Missing("audio stream (m=audio)"))?;
        let address = media_addr
            .or(session_addr)
            .ok_or(SdpError::Missing("connection address (c=)"))?;
        let formats = pts
            .into_iter()
            .map(|pt| {
                let rtpmap = rtpmaps
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map(|(_, m)| m.clone());
                let codec = match &rtpmap {
                    Some(m) => {
                        let mut parts = m.split('/');
                        let name = parts.next().unwrap_or("");
                        let rate = parts.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                        Codec::from_rtpmap(name, rate)
                    }
                    None => [Codec::Pcmu, Codec::Pcma]
                        .into_iter()
                        .find(|c| c.static_pt() == Some(pt)),
                };
                Format {
                    pt,
                    codec,
                    rtpmap: rtpmap.unwrap_or_default(),
                    fmtp: fmtps.iter().find(|(p, _)| *p == pt).map(|(_, f)| f.clone()),
                }
            })
            .collect();
        Ok(Session {
            origin_user,
            session_id,
            session_version,
            address,
            port,
            protocol,
            formats,
            direction: direction.or(session_direction).unwrap_or_default(),
            ptime,
            attributes,
        })
    }

    /// Where the peer wants its audio.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Is the peer holding the call (RFC 3264 §8.4, and the old `c=0.0.0.0` form)?
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
            || self.address.is_unspecified()
    }

    /// The audio codec the peer prefers among `supported` (its m-line order).
    pub fn first_audio(&self, supported: &[Codec]) -> Option<&Format> {
        self.formats.iter().find(|f| {
            f.codec
                .is_some_and(|c| c != Codec::TelephoneEvent && supported.contains(&c))
        })
    }

    pub fn telephone_event(&self) -> Option<&Format> {
        self.formats
            .iter()
            .find(|f| f.codec == Some(Codec::TelephoneEvent))
    }

    /// The node's offer: the audio codecs in preference order, with their
    /// static or given payload types, and RFC 4733 events as payload type 101.
    pub fn offer(
        session_id: u64,
        address: IpAddr,
        port: u16,
        codecs: &[Codec],
        direction: Direction,
    ) -> Session {
        let mut formats: Vec<Format> = codecs
            .iter()
            .filter(|c| **c != Codec::TelephoneEvent)
            .map(|c| {
                let pt = c.static_pt().unwrap_or(111);
                Format {
                    pt,
                    codec: Some(*c),
                    rtpmap: rtpmap_of(*c),
                    fmtp: (*c == Codec::Opus).then(|| "minptime=10;useinbandfec=1".into()),
                }
            })
            .collect();
        formats.push(Format {
            pt: 101,
            codec: Some(Codec::TelephoneEvent),
            rtpmap: rtpmap_of(Codec::TelephoneEvent),
            fmtp: Some("0-16".into()),
        });
        Session {
            origin_user: "callisto".into(),
            session_id,
            session_version: 1,
            address,
            port,
            protocol: "RTP/AVP".into(),
            formats,
            direction,
            ptime: Some(20),
            attributes: Vec::new(),
        }
    }

    /// The node's answer to this offer: the peer's preferred codec among
    /// `supported` with the peer's payload type, its telephone-event if
    /// offered, and the answering direction. `None` when no codec is shared
    /// (the call is refused with 488).
    pub fn answer(
        &self,
        session_id: u64,
        address: IpAddr,
        port: u16,
        supported: &[Codec],
    ) -> Option<Session> {
        let audio = self.first_audio(supported)?.clone();
        let mut formats = vec![Format {
            rtpmap: if audio.rtpmap.is_empty() {
                audio.codec.map(rtpmap_of).unwrap_or_default()
            } else {
                audio.rtpmap.clone()
            },
            ..audio
        }];
        if let Some(te) = self.telephone_event() {
            formats.push(te.clone());
        }
        Some(Session {
            origin_user: "callisto".into(),
            session_id,
            session_version: 1,
            address,
            port,
            protocol: self.protocol.clone(),
            formats,
            direction: self.direction.answer(),
            ptime: Some(20),
            attributes: Vec::new(),
        })
    }
}

fn rtpmap_of(c: Codec) -> String {
    match c {
        Codec::Opus => "opus/48000/2".into(),
        c => format!("{}/{}", c.name(), c.clock_rate()),
    }
}

impl std::fmt::Display for Session {
    /// The description as sent: CRLF line ends, session-level `c=`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip = match self.address {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "v=0\r\no={} {} {} IN {ip} {}\r\ns=-\r\nc=IN {ip} {}\r\nt=0 0\r\n",
            self.origin_user, self.session_id, self.session_version, self.address, self.address
        );
        let pts: Vec<String> = self.formats.iter().map(|f| f.pt.to_string()).collect();
        let _ = write!(
            s,
            "m=audio {} {} {}\r\n",
            self.port,
            self.protocol,
            pts.join(" ")
        );
        for fmt in &self.formats {
            if !fmt.rtpmap.is_empty() {
                let _ = write!(s, "a=rtpmap:{} {}\r\n", fmt.pt, fmt.rtpmap);
            }
            if let Some(p) = &fmt.fmtp {
                let _ = write!(s, "a=fmtp:{} {}\r\n", fmt.pt, p);
            }
        }
        if let Some(p) = self.ptime {
            let _ = write!(s, "a=ptime:{p}\r\n");
        }
        for a in &self.attributes {
            let _ = write!(s, "a={a}\r\n");
        }
        let _ = write!(s, "a={}\r\n", self.direction.attr());
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // What baresip offers (trimmed), with a video stream the node ignores.
    const BARESIP: &str = "v=0\r\no=- 1234 5678 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 10000 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1\r\n\
        a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\na=ptime:20\r\na=rtcp-mux\r\na=sendrecv\r\n\
        m=video 10002 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\na=sendrecv\r\n";

    #[test]
    fn reads_a_softphone_offer() {
        let s = Session::parse(BARESIP).unwrap();
        assert_eq!(s.rtp_addr(), "127.0.0.1:10000".parse().unwrap());
        let pts: Vec<u8> = s.formats.iter().map(|f| f.pt).collect();
        assert_eq!(pts, [96, 0, 8, 101]);
        assert_eq!(s.formats[0].codec, Some(Codec::Opus));
        assert_eq!(s.formats[0].fmtp.as_deref(), Some("stereo=1"));
        assert_eq!(s.telephone_event().map(|f| f.pt), Some(101));
        assert_eq!(s.attributes, ["rtcp-mux"]);
        assert_eq!(s.ptime, Some(20));
        assert!(!s.is_hold());
    }

    #[test]
    fn answers_with_the_peers_preferred_shared_codec_and_its_payload_types() {
        let offer = Session::parse(BARESIP).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = offer
            .answer(7, ip, 20000, &[Codec::Pcmu, Codec::Pcma])
            .unwrap();
        assert_eq!(a.formats.len(), 2);
        assert_eq!(
            (a.formats[0].pt, a.formats[0].codec),
            (0, Some(Codec::Pcmu))
        );
        assert_eq!(a.formats[1].pt, 101);
        let text = a.to_string();
        assert!(text.contains("m=audio 20000 RTP/AVP 0 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:0 PCMU/8000\r\n"));
        // The printed answer reads back the same.
        assert_eq!(Session::parse(&text).unwrap(), a);
        // Nothing shared: no answer (488 Not Acceptable Here).
        let g722 = BARESIP.replace(" 96 0 8 101", " 9").replace("opus", "x");
        assert!(
            Session::parse(&g722)
                .unwrap()
                .answer(7, ip, 1, &[Codec::Pcmu])
                .is_none()
        );
    }

    #[test]
    fn static_payload_types_need_no_rtpmap_and_hold_is_recognised() {
        let s = "v=0\r\no=sipp 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 8 0\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\n";
        let s = Session::parse(s).unwrap();
        assert_eq!(s.address.to_string(), "10.0.0.2", "media-level c= wins");
        assert_eq!(
            s.first_audio(&[Codec::Pcmu, Codec::Pcma]).unwrap().codec,
            Some(Codec::Pcma)
        );
        assert!(s.is_hold());
        assert_eq!(s.direction.answer(), Direction::RecvOnly);
        let old = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert!(Session::parse(old).unwrap().is_hold());
    }

    #[test]
    fn bad_descriptions_name_their_line() {
        for (text, want) in [
            ("v=0\r\nthis is not sdp\r\n", "line 2"),
            (
                "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 nowhere\r\n",
                "line 3",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
                "line 4",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 300\r\n",
                "line 4",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n",
                "audio stream",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n",
                "connection address",
            ),
        ] {
            let e = Session::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn the_nodes_offer_lists_its_codecs_and_dtmf() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let o = Session::offer(
            9,
            ip,
            30000,
            &[Codec::Pcmu, Codec::Pcma],
            Direction::SendRecv,
        );
        let text = o.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 0 8 101\r\n"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16\r\n"));
        assert_eq!(Session::parse(&text).unwrap(), o);
    }
}

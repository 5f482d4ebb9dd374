import { useEffect, useRef, useState } from "preact/hooks";
import { t, type Key } from "../i18n";
import { line, softphone } from "../phone";
import { outputDevices, ring, ringDevice, setRingDevice } from "../ringtone";
import { useSignal } from "../signal";

/** The outcome of one check: passed, failed (with why), or still running. */
type Outcome = { state: "pass" | "fail" | "running"; detail?: string };

function Row({ name, outcome }: { name: Key; outcome: Outcome }) {
  return (
    <li data-check={name} data-state={outcome.state}>
      <span class="check-mark" aria-hidden="true">
        {outcome.state === "pass" ? "✓" : outcome.state === "fail" ? "✗" : "…"}
      </span>
      <strong>{t(name)}</strong>
      {outcome.detail && <span class="muted"> {outcome.detail}</span>}
    </li>
  );
}

/** What the browser must have for calls from the page. */
function browserSupport(): Outcome {
  const missing = [
    ["WebRTC", "RTCPeerConnection" in window],
    ["getUserMedia", !!navigator.mediaDevices?.getUserMedia],
    ["WebSocket", "WebSocket" in window],
    ["Web Audio", "AudioContext" in window],
  ]
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return missing.length ? { state: "fail", detail: t("check.missing", { what: missing.join(", ") }) } : { state: "pass" };
}

/** Round trips to the API: is the server there, and how fast it answers
 * (the median of `n` requests). The quality of calls is the echo test's. */
async function measureServer(n: number): Promise<Outcome> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    try {
      const r = await fetch("/api/health", { cache: "no-store" });
      if (!r.ok) throw new Error(String(r.status));
      times.push(performance.now() - start);
    } catch {
      // A failed request counts as not answered.
    }
  }
  if (!times.length) return { state: "fail", detail: t("check.server_down") };
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const detail = t("check.server_answers", { rtt: Math.round(median), ok: times.length, n });
  return { state: median < 300 && times.length === n ? "pass" : "fail", detail };
}

/** How long the echo test lasts: time to say a sentence and hear it back,
 * and for several RTCP reports (the round trip comes from them). */
const ECHO_MS = 8000;

/** The figures of the echo call's RTP path, from RTCPeerConnection.getStats(). */
export interface PathQuality {
  /** Interarrival jitter of what came back, ms (RFC 3550 §6.4.1). */
  jitter: number;
  /** Per cent of our packets the server reported lost (its RTCP), if it did. */
  lostUp: number | null;
  /** Per cent of the packets coming back that never arrived. */
  lostDown: number;
  /** Round trip from the server's RTCP receiver reports, ms, if it gave them. */
  rtt: number | null;
}

type Stat = Record<string, unknown>;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function pathQuality(report: RTCStatsReport): PathQuality | null {
  let inbound: Stat | null = null;
  let outbound: Stat | null = null;
  let remote: Stat | null = null;
  report.forEach((st: Stat) => {
    if (st.kind !== "audio") return;
    if (st.type === "inbound-rtp") inbound = st;
    if (st.type === "outbound-rtp") outbound = st;
    if (st.type === "remote-inbound-rtp") remote = st;
  });
  const inb = inbound as Stat | null;
  if (!inb) return null;
  const received = num(inb.packetsReceived) ?? 0;
  const lost = Math.max(0, num(inb.packetsLost) ?? 0);
  const lostDown = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  const rem = remote as Stat | null;
  const sent = num((outbound as Stat | null)?.packetsSent);
  const lostThere = num(rem?.packetsLost);
  const lostUp = sent && lostThere !== null ? (100 * Math.max(0, lostThere)) / sent : null;
  const rtt = num(rem?.roundTripTime);
  return {
    jitter: (num(inb.jitter) ?? 0) * 1000,
    lostUp,
    lostDown,
    rtt: rtt === null ? null : rtt * 1000,
  };
}

/** The quality check's verdict. Beyond these a call sounds broken: ITU-T
 * G.114 puts 150 ms one way (300 ms round trip) as the limit for good
 * speech; more than a few per cent lost or 30 ms of jitter is heard. */
function qualityOutcome(q: PathQuality | null): Outcome {
  if (!q) return { state: "fail", detail: t("check.quality_none") };
  const pct = (x: number) => Math.round(x * 10) / 10;
  const figures = {
    jitter: Math.round(q.jitter),
    up: q.lostUp === null ? "?" : pct(q.lostUp),
    down: pct(q.lostDown),
  };
  const detail =
    q.rtt === null
      ? t("check.quality_no_rtt", figures)
      : t("check.quality_figures", { ...figures, rtt: Math.round(q.rtt) });
  const ok = q.jitter <= 30 && q.lostDown <= 3 && (q.lostUp ?? 0) <= 3 && (q.rtt ?? 0) < 300;
  return { state: ok ? "pass" : "fail", detail };
}

/** The level of `stream` in dBFS, sampled every 100 ms while `live()`. */
function meter(stream: MediaStream, onLevel: (db: number) => void): () => void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const wave = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(wave);
    const rms = Math.sqrt(wave.reduce((s, v) => s + v * v, 0) / wave.length);
    onLevel(rms > 0 ? 20 * Math.log10(rms) : -100);
  }, 100);
  return () => {
    clearInterval(timer);
    void ctx.close();
  };
}

/** The pre-flight check (PRODUCT B4): is this browser, microphone, speaker
 * and network fit for calls? Each check says what it found. */
export function Check() {
  const phoneLine = useSignal(line);
  const [browser] = useState(browserSupport);
  const [mic, setMic] = useState<Outcome>({ state: "running" });
  const [level, setLevel] = useState(-100);
  const [loudest, setLoudest] = useState(-100);
  const [server, setServer] = useState<Outcome>({ state: "running" });
  const [echo, setEcho] = useState<Outcome | null>(null);
  const [quality, setQuality] = useState<Outcome | null>(null);
  const [outputs, setOutputs] = useState<MediaDeviceInfo[]>([]);
  const [device, setDevice] = useState(ringDevice());
  const stream = useRef<MediaStream | null>(null);
  /** Hangs up the echo test in progress (leaving the page ends it). */
  const endEcho = useRef<() => void>(() => {});

  useEffect(() => {
    let stop = () => {};
    navigator.mediaDevices
      ?.getUserMedia({ audio: true, video: false })
      .then((s) => {
        stream.current = s;
        const label = s.getAudioTracks()[0]?.label;
        setMic({ state: "pass", detail: label || undefined });
        stop = meter(s, (db) => {
          setLevel(db);
          setLoudest((l) => Math.max(l, db));
        });
        // Device names are given only once a microphone is allowed.
        void outputDevices().then(setOutputs);
      })
      .catch((e: DOMException) =>
        setMic({
          state: "fail",
          detail: e?.name === "NotFoundError" ? t("check.mic_none") : t("check.mic_denied"),
        }),
      );
    void measureServer(5).then(setServer);
    return () => {
      stop();
      stream.current?.getTracks().forEach((tr) => tr.stop());
      endEcho.current();
    };
  }, []);

  /** Calls the node's echo number through the softphone: the agent hears
   * themselves through the whole path a customer's call takes, and the
   * call's RTP statistics give the connection's quality. */
  async function echoTest() {
    setEcho({ state: "running", detail: t("check.echo_calling") });
    setQuality({ state: "running" });
    const phone = await softphone();
    const e = phone.echoCall();
    endEcho.current = () => e?.hangUp();
    if (!e) {
      setEcho({ state: "fail", detail: t("check.echo_no_line") });
      setQuality(null);
      return;
    }
    let stopMeter = () => {};
    let back = -100;
    const player = new Audio();
    void e.remote.then(async (remote) => {
      player.srcObject = remote;
      const sink = player as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
      await sink.setSinkId?.(device).catch(() => {});
      await player.play().catch(() => {});
      stopMeter = meter(remote, (db) => (back = Math.max(back, db)));
    });
    try {
      await e.answered;
    } catch (err) {
      setEcho({ state: "fail", detail: t("check.echo_failed", { cause: (err as Error).message }) });
      setQuality(null);
      return;
    }
    setEcho({ state: "running", detail: t("check.echo_speak") });
    const early = await Promise.race([e.ended, new Promise<null>((r) => setTimeout(() => r(null), ECHO_MS))]);
    const report = early === null ? await e.stats() : null;
    e.hangUp();
    stopMeter();
    player.srcObject = null;
    if (early !== null) {
      setEcho({ state: "fail", detail: t("check.echo_failed", { cause: early }) });
      setQuality(null);
      return;
    }
    setEcho(
      back > -50
        ? { state: "pass", detail: t("check.echo_heard", { db: Math.round(back) }) }
        : { state: "fail", detail: t("check.echo_silent") },
    );
    setQuality(qualityOutcome(report && pathQuality(report)));
  }

  const heard: Outcome =
    mic.state !== "pass"
      ? { state: "fail", detail: t("check.level_no_mic") }
      : loudest > -50
        ? { state: "pass", detail: t("check.level", { db: Math.round(loudest) }) }
        : { state: "running", detail: t("check.level_quiet") };
  const sip: Outcome =
    phoneLine.state === "ready"
      ? { state: "pass" }
      : phoneLine.state === "failed"
        ? { state: "fail", detail: phoneLine.reason }
        : { state: "running" };

  return (
    <section class="card preflight">
      <h1>{t("check.title")}</h1>
      <p class="muted">{t("check.intro")}</p>
      <ul class="checks">
        <Row name="check.browser" outcome={browser} />
        <Row name="check.microphone" outcome={mic} />
        <Row name="check.mic_level" outcome={heard} />
        <Row name="check.server" outcome={server} />
        <Row name="check.phone" outcome={sip} />
        {echo && <Row name="check.echo" outcome={echo} />}
        {quality && <Row name="check.quality" outcome={quality} />}
      </ul>
      <meter class="level" min={-60} max={0} value={Math.max(-60, level)} aria-label={t("check.mic_level")} />
      <div class="check-actions">
        <button
          disabled={mic.state !== "pass" || sip.state !== "pass" || echo?.state === "running"}
          onClick={() => void echoTest()}
        >
          {t("check.echo_start")}
        </button>
        <label class="field">
          <span>{t("check.ring_device")}</span>
          <select
            name="ring-device"
            value={device}
            onChange={(e) => {
              const id = (e.target as HTMLSelectElement).value;
              setDevice(id);
              setRingDevice(id);
            }}
          >
            <option value="">{t("check.default_device")}</option>
            {outputs
              .filter((d) => d.deviceId && d.deviceId !== "default")
              .map((d) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || d.deviceId.slice(0, 8)}
                </option>
              ))}
          </select>
        </label>
        <button
          class="secondary"
          onClick={() => {
            ring(true);
            setTimeout(() => ring(false), 3000);
          }}
        >
          {t("check.ring_test")}
        </button>
      </div>
    </section>
  );
}

import { useEffect, useRef, useState } from "preact/hooks";
import { t, type Key } from "../i18n";
import { line } from "../phone";
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

/** Round trips to the API: the median and the spread (jitter) of `n` requests. */
async function measureServer(n: number): Promise<Outcome> {
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    try {
      const r = await fetch("/api/health", { cache: "no-store" });
      if (!r.ok) throw new Error(String(r.status));
      times.push(performance.now() - start);
    } catch {
      failed++;
    }
  }
  if (!times.length) return { state: "fail", detail: t("check.server_down") };
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const jitter =
    times.slice(1).reduce((sum, x, i) => sum + Math.abs(x - times[i]), 0) / Math.max(1, times.length - 1);
  const loss = Math.round((failed / n) * 100);
  const detail = t("check.round_trip", { rtt: Math.round(median), jitter: Math.round(jitter), loss });
  // Beyond these a call sounds broken: ITU-T G.114 puts 150 ms one way as the
  // limit for good speech, and any loss of requests means a shaky network.
  return { state: median < 300 && loss === 0 ? "pass" : "fail", detail };
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
  const [outputs, setOutputs] = useState<MediaDeviceInfo[]>([]);
  const [device, setDevice] = useState(ringDevice());
  const stream = useRef<MediaStream | null>(null);

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
    };
  }, []);

  /** Records 3 s of the microphone and plays it back: the agent hears
   * themselves as the other side would, through the chosen speaker. */
  async function echoTest() {
    const s = stream.current;
    if (!s) return;
    setEcho({ state: "running", detail: t("check.echo_speak") });
    const recorder = new MediaRecorder(s);
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const done = new Promise((r) => (recorder.onstop = r));
    recorder.start();
    await new Promise((r) => setTimeout(r, 3000));
    recorder.stop();
    await done;
    const audio = new Audio(URL.createObjectURL(new Blob(chunks, { type: recorder.mimeType })));
    const sink = audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    await sink.setSinkId?.(device).catch(() => {});
    setEcho({ state: "running", detail: t("check.echo_playing") });
    audio.onended = () => setEcho({ state: "pass", detail: t("check.echo_done") });
    audio.onerror = () => setEcho({ state: "fail", detail: t("check.echo_failed") });
    await audio.play().catch(() => setEcho({ state: "fail", detail: t("check.echo_failed") }));
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
      </ul>
      <meter class="level" min={-60} max={0} value={Math.max(-60, level)} aria-label={t("check.mic_level")} />
      <div class="check-actions">
        <button disabled={mic.state !== "pass" || echo?.state === "running"} onClick={() => void echoTest()}>
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

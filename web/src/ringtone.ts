// The ringtone of a customer's call: a two-tone ring (1 s on, 2 s off) made in
// the page, played on the output device the agent chose (setSinkId), so a
// headset can carry the call while the speakers ring.

const DEVICE_KEY = "callisto.ringDevice";
let player: HTMLAudioElement | null = null;

/** A WAV of one ring cycle: 440 + 480 Hz for 1 s, then 2 s of silence. */
function ringWav(): Blob {
  const rate = 8000;
  const samples = rate * 3;
  const data = new DataView(new ArrayBuffer(44 + samples * 2));
  const text = (at: number, s: string) => [...s].forEach((c, i) => data.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  data.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVEfmt ");
  data.setUint32(16, 16, true);
  data.setUint16(20, 1, true); // PCM
  data.setUint16(22, 1, true); // mono
  data.setUint32(24, rate, true);
  data.setUint32(28, rate * 2, true);
  data.setUint16(32, 2, true);
  data.setUint16(34, 16, true);
  text(36, "data");
  data.setUint32(40, samples * 2, true);
  for (let i = 0; i < rate; i++) {
    const v = Math.sin((2 * Math.PI * 440 * i) / rate) + Math.sin((2 * Math.PI * 480 * i) / rate);
    data.setInt16(44 + i * 2, Math.round(v * 6000), true);
  }
  return new Blob([data], { type: "audio/wav" });
}

/** The output device chosen for the ringtone ("" is the system's default). */
export const ringDevice = () => localStorage.getItem(DEVICE_KEY) ?? "";

/** Chooses the ringtone's output device. */
export function setRingDevice(id: string) {
  localStorage.setItem(DEVICE_KEY, id);
  if (player) void applyDevice(player);
}

/** The audio outputs the browser names (labels come once a microphone was allowed). */
export async function outputDevices(): Promise<MediaDeviceInfo[]> {
  const all = await navigator.mediaDevices?.enumerateDevices?.();
  return (all ?? []).filter((d) => d.kind === "audiooutput");
}

async function applyDevice(el: HTMLAudioElement) {
  const sink = el as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
  // A device that is gone falls back to the default rather than staying silent.
  await sink.setSinkId?.(ringDevice()).catch(() => sink.setSinkId?.(""));
}

/** Starts (`on`) or stops the ringtone. */
export function ring(on: boolean) {
  if (!on) {
    player?.pause();
    return;
  }
  if (!player) {
    player = new Audio(URL.createObjectURL(ringWav()));
    player.loop = true;
  }
  const el = player;
  el.currentTime = 0;
  void applyDevice(el).then(() => el.play().catch(() => {}));
}

use std::io::{self, Seek, SeekFrom, Write};

use thiserror::Error;

use super::wav::{HEADER_LEN, pcm16_header};

#[derive(Debug, Error)]
pub enum RecorderError {
    #[error("recording write failed: {0}")]
    Io(#[from] io::Error),
    #[error("recording rate {0} Hz: only 8000 and 16000 are recorded")]
    BadRate(u32),
    #[error("recording passed the 4 GiB a WAV file can hold")]
    TooLong,
}

/// Which channel a leg is recorded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Left channel (by convention the customer / trunk leg).
    Left,
    /// Right channel (the agent leg).
    Right,
}

/// Streaming stereo WAV (16-bit PCM, 8 or 16 kHz): each leg's audio is placed
/// by its media time (a sample index from the start of the recording), gaps are
/// silence, and memory stays bounded by the window of samples not yet written.
///
/// Usage: `write(leg, at, samples)` as frames are decoded, `advance(until)` on
/// the 20 ms tick (so a silent or held leg does not hold the other back),
/// `finish()` at hang-up to fix the header.
#[derive(Debug)]
pub struct StereoRecorder<W: Write + Seek> {
    out: W,
    rate: u32,
    /// Samples per channel already written to `out`.
    written: u64,
    /// Pending samples per channel, a ring: media time t sits at t % window.
    left: Vec<i16>,
    right: Vec<i16>,
    /// Furthest sample (exclusive) any leg has reached.
    reached: u64,
    window: usize,
    bytes: Vec<u8>,
}

impl<W: Write + Seek> StereoRecorder<W> {
    /// The recording rate for two legs: wideband if either leg is.
    pub fn rate_for(left_rate: u32, right_rate: u32) -> u32 {
        if left_rate > 8000 || right_rate > 8000 {
            16000
        } else {
            8000
        }
    }

    /// Writes a provisional header at the current position of `out`.
    pub fn new(mut out: W, rate: u32) -> Result<Self, RecorderError> {
        if rate != 8000 && rate != 16000 {
            return Err(RecorderError::BadRate(rate));
        }
        out.write_all(&pcm16_header(rate, 2, 0))?;
        // Two seconds of reordering and lag between legs; more is written as is.
        let window = rate as usize * 2;
        Ok(Self {
            out,
            rate,
            written: 0,
            left: vec![0; window],
            right: vec![0; window],
            reached: 0,
            window,
            bytes: Vec::with_capacity(window * 4),
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Samples per channel in the file so far (written or pending).
    pub fn duration_samples(&self) -> u64 {
        self.reached.max(self.written)
    }

    /// Places `samples` of one leg at media time `at` (in samples at the
    /// recording rate). Audio older than what is already written is dropped;
    /// audio beyond the window pushes the older part out to the file.
    pub fn write(&mut self, leg: Leg, at: u64, samples: &[i16]) -> Result<(), RecorderError> {
        let end = at + samples.len() as u64;
        if end > self.written + self.window as u64 {
            self.flush_to(end - self.window as u64)?;
        }
        let skip = self.written.saturating_sub(at) as usize;
        if skip >= samples.len() {
            return Ok(());
        }
        let src = &samples[skip..];
        let window = self.window;
        let buf = match leg {
            Leg::Left => &mut self.left,
            Leg::Right => &mut self.right,
        };
        // The window is a ring indexed by media time.
        let first = ((at + skip as u64) % window as u64) as usize;
        let split = (window - first).min(src.len());
        buf[first..first + split].copy_from_slice(&src[..split]);
        buf[..src.len() - split].copy_from_slice(&src[split..]);
        self.reached = self.reached.max(end);
        Ok(())
    }

    /// Writes everything before media time `until` to the file, silence where
    /// a leg sent nothing.
    pub fn advance(&mut self, until: u64) -> Result<(), RecorderError> {
        self.reached = self.reached.max(until);
        self.flush_to(until)
    }

    fn flush_to(&mut self, until: u64) -> Result<(), RecorderError> {
        while self.written < until {
            let first = (self.written % self.window as u64) as usize;
            // Up to the end of the ring in one go.
            let n = ((until - self.written) as usize).min(self.window - first);
            self.bytes.clear();
            for (l, r) in self.left[first..first + n]
                .iter()
                .zip(&self.right[first..first + n])
            {
                self.bytes.extend_from_slice(&l.to_le_bytes());
                self.bytes.extend_from_slice(&r.to_le_bytes());
            }
            self.out.write_all(&self.bytes)?;
            // Written samples become silence for the next turn of the ring.
            self.left[first..first + n].fill(0);
            self.right[first..first + n].fill(0);
            self.written += n as u64;
            if self.written * 4 > u64::from(u32::MAX) - HEADER_LEN as u64 {
                return Err(RecorderError::TooLong);
            }
        }
        Ok(())
    }

    /// Writes what is pending up to the furthest media time reached, fixes the
    /// header's sizes and hands back the writer.
    pub fn finish(mut self) -> Result<W, RecorderError> {
        let until = self.reached;
        self.flush_to(until)?;
        let data_len = u32::try_from(self.written * 4).map_err(|_| RecorderError::TooLong)?;
        let end = self.out.stream_position()?;
        let start = end - u64::from(data_len) - HEADER_LEN as u64;
        self.out.seek(SeekFrom::Start(start))?;
        self.out.write_all(&pcm16_header(self.rate, 2, data_len))?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn samples(wav: &[u8]) -> Vec<(i16, i16)> {
        wav[HEADER_LEN..]
            .chunks_exact(4)
            .map(|c| {
                (
                    i16::from_le_bytes([c[0], c[1]]),
                    i16::from_le_bytes([c[2], c[3]]),
                )
            })
            .collect()
    }

    #[test]
    fn header_is_fixed_at_finish() {
        let mut r = StereoRecorder::new(Cursor::new(Vec::new()), 8000).unwrap();
        r.write(Leg::Left, 0, &[1; 160]).unwrap();
        r.write(Leg::Right, 0, &[2; 160]).unwrap();
        let wav = r.finish().unwrap().into_inner();
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(wav[4..8].try_into().unwrap()), 36 + 640);
        assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 2);
        assert_eq!(u32::from_le_bytes(wav[24..28].try_into().unwrap()), 8000);
        assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 640);
        assert_eq!(wav.len(), 44 + 640);
        assert!(samples(&wav).iter().all(|&s| s == (1, 2)));
    }

    #[test]
    fn legs_align_by_media_time_and_gaps_are_silence() {
        let mut r = StereoRecorder::new(Cursor::new(Vec::new()), 8000).unwrap();
        // The right leg is on hold for the first 40 ms and the left arrives late.
        r.write(Leg::Right, 320, &[7; 160]).unwrap();
        r.write(Leg::Left, 0, &[3; 160]).unwrap();
        r.write(Leg::Left, 320, &[4; 160]).unwrap();
        let s = samples(&r.finish().unwrap().into_inner());
        assert_eq!(s.len(), 480);
        assert_eq!(s[0], (3, 0));
        assert_eq!(s[200], (0, 0));
        assert_eq!(s[400], (4, 7));
    }

    #[test]
    fn a_silent_leg_does_not_hold_back_or_grow_memory() {
        let mut r = StereoRecorder::new(Cursor::new(Vec::new()), 16000).unwrap();
        // Ten minutes of one leg only, advancing on the tick.
        for frame in 0..30_000u64 {
            r.write(Leg::Left, frame * 320, &[5; 320]).unwrap();
            r.advance(frame * 320).unwrap();
            assert!(r.left.len() == 32_000 && r.bytes.capacity() <= 32_000 * 4);
        }
        let wav = r.finish().unwrap().into_inner();
        assert_eq!(wav.len(), 44 + 30_000 * 320 * 4);
        assert!(samples(&wav).iter().all(|&s| s == (5, 0)));
    }

    #[test]
    fn late_audio_is_dropped_and_far_future_audio_flushes() {
        let mut r = StereoRecorder::new(Cursor::new(Vec::new()), 8000).unwrap();
        r.write(Leg::Left, 0, &[1; 160]).unwrap();
        r.advance(160).unwrap();
        r.write(Leg::Right, 0, &[9; 160]).unwrap();
        // 10 s later: the window moves without anything being lost.
        r.write(Leg::Right, 80_000, &[2; 160]).unwrap();
        let s = samples(&r.finish().unwrap().into_inner());
        assert_eq!(s.len(), 80_160);
        assert_eq!(s[10], (1, 0));
        assert_eq!(s[80_000], (0, 2));
        assert!(matches!(
            StereoRecorder::new(Cursor::new(Vec::new()), 44100),
            Err(RecorderError::BadRate(44100))
        ));
    }
}

//! The hold-music fixture plays through the prompt reader as a held caller hears it.

use callisto_media::recorder::Prompt;
use callisto_media::tone::{dominant_frequency, rms_dbfs};

#[test]
fn hold_music_loads_and_loops_in_20_ms_frames() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samplesdata/audio/hold-music.wav"
    );
    let file = std::fs::File::open(path).expect("samplesdata/audio/hold-music.wav");
    let prompt = Prompt::from_wav(std::io::BufReader::new(file)).expect("a valid prompt");
    let ms = prompt.duration_ms();
    assert!((15_000..=25_000).contains(&ms), "{ms} ms");
    // Audible, not clipped, and musical (the melody's notes are 165-523 Hz).
    let level = rms_dbfs(prompt.samples());
    assert!((-30.0..-6.0).contains(&level), "{level} dBFS");
    let f = dominant_frequency(&prompt.samples()[..8000], 8000);
    assert!((100.0..1200.0).contains(&f), "{f} Hz");
    // Playing past the end starts the melody again without a gap.
    let mut player = prompt.player(true);
    let mut frame = [0i16; 160];
    let frames = prompt.samples().len() / 160 + 10;
    for _ in 0..frames {
        assert!(player.next_frame(&mut frame));
    }
    assert!(!player.is_finished());
}

//! A reader that shows how far it got: a progress bar on stderr for inputs that take more than a
//! moment, none when stderr is not a terminal.

use std::io::{self, IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// No bar at all from now on (`--quiet`).
static HIDDEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Draws no progress bar from now on (`--quiet`).
pub fn hide_bars() {
    HIDDEN.store(true, Ordering::Relaxed);
}

/// Wraps an input; the bar appears after 700 ms, and is cleared when the reader is dropped.
pub struct ProgressReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
    size: Option<u64>,
    name: String,
    start: Instant,
    bar: Option<indicatif::ProgressBar>,
    /// Set once it is known that no bar will be drawn.
    quiet: bool,
}

impl<R: Read> ProgressReader<R> {
    /// `size` is the input's length when known (a file), `name` labels the bar.
    pub fn new(inner: R, size: Option<u64>, name: &str) -> Self {
        ProgressReader {
            inner,
            read: Arc::new(AtomicU64::new(0)),
            size,
            name: name.to_owned(),
            start: Instant::now(),
            bar: None,
            quiet: !io::stderr().is_terminal() || HIDDEN.load(Ordering::Relaxed),
        }
    }

    /// Bytes read so far, readable after the reader moved on.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.read.clone()
    }

    fn show(&mut self) {
        if self.bar.is_none() {
            if self.start.elapsed() < Duration::from_millis(700) {
                return;
            }
            let bar = match self.size {
                Some(s) => indicatif::ProgressBar::new(s),
                None => indicatif::ProgressBar::new_spinner(),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(self.name.clone());
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(self.read.load(Ordering::Relaxed));
        }
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if !self.quiet {
            self.show();
        }
        Ok(n)
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

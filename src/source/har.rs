//! HAR 1.2 files, streamed entry by entry. (Being written.)

use super::{Format, Source, SourceItem};
use std::io::BufRead;
use std::sync::Arc;

pub struct HarSource<R> {
    #[allow(dead_code)]
    input: Arc<str>,
    #[allow(dead_code)]
    reader: R,
}

impl<R: BufRead> HarSource<R> {
    pub fn new(input: Arc<str>, reader: R) -> Self {
        HarSource { input, reader }
    }
}

impl<R: BufRead> Iterator for HarSource<R> {
    type Item = SourceItem;
    fn next(&mut self) -> Option<SourceItem> {
        None
    }
}

impl<R: BufRead> Source for HarSource<R> {
    fn format(&self) -> Format {
        Format::Har
    }
}

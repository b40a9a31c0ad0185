//! Console messages as Chromium and Firefox print them. (Stub: filled in by the classifier work.)

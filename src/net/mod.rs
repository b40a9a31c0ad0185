//! From packets to HTTP/1.x exchanges: link/IP decoding, TCP reassembly, HTTP parsing.
//! A sans-IO core fed `(timestamp, packet bytes)`, shared by capture files and live capture.
//! (Stub: filled in by the packet-capture work.)
